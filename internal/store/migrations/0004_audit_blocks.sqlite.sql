-- SQLite only (0004_audit_blocks.postgres.sql is PostgreSQL's). The audit
-- trail's two kinds of rows get a table each (ADR 0005), shaped so that an
-- append touches as few pages as it can. Blocks are keyed by their chain
-- position alone (SQLite appends to chain 0 only), the table's rowid, so
-- they are appended at the end of one b-tree with no index beside it. The
-- references follow in 0005.
CREATE TABLE pb_audit_blocks (
  seq     INTEGER PRIMARY KEY,
  shard   INTEGER NOT NULL CHECK (shard = 0),
  n       INTEGER NOT NULL,
  id      TEXT    NOT NULL,
  at      BIGINT  NOT NULL,
  entries TEXT    NOT NULL,
  hash    TEXT    NOT NULL
);
INSERT INTO pb_audit_blocks (seq, shard, n, id, at, entries, hash)
  SELECT seq, shard, n, id, at, entries, hash FROM pb_audit WHERE n > 0 ORDER BY seq;
