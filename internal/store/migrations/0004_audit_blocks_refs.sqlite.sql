-- SQLite only (0004_audit_blocks_refs.postgres.sql is PostgreSQL's). The audit
-- trail's two kinds of rows get a table each (ADR 0005), shaped so that an
-- append touches as few pages as it can:
--  * pb_audit_blocks: a block is keyed by its chain position alone (SQLite
--    appends to chain 0 only), the table's rowid, so blocks are appended at
--    the end of one b-tree with no index beside it;
--  * pb_audit_refs: one row per object a block's entries touch (the first
--    one too), a WITHOUT ROWID table: the row is its own index entry.
CREATE TABLE pb_audit_blocks (
  seq     INTEGER PRIMARY KEY,
  shard   INTEGER NOT NULL CHECK (shard = 0),
  n       INTEGER NOT NULL,
  id      TEXT    NOT NULL,
  at      BIGINT  NOT NULL,
  entries TEXT    NOT NULL,
  hash    TEXT    NOT NULL
);
CREATE TABLE pb_audit_refs (
  object TEXT    NOT NULL,
  id     TEXT    NOT NULL,
  shard  INTEGER NOT NULL,
  seq    BIGINT  NOT NULL,
  PRIMARY KEY (object, id)
) WITHOUT ROWID;
INSERT INTO pb_audit_blocks (seq, shard, n, id, at, entries, hash)
  SELECT seq, shard, n, id, at, entries, hash FROM pb_audit WHERE n > 0 ORDER BY seq;
INSERT INTO pb_audit_refs (object, id, shard, seq)
  SELECT object, id, shard, seq FROM pb_audit WHERE object <> '';
DROP TABLE pb_audit;
