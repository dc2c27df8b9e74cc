-- PostgreSQL only (0004_audit_blocks.sqlite.sql is SQLite's). The audit
-- trail's two kinds of rows get a table each (ADR 0005): blocks keyed by
-- chain and position here, the references in 0005.
CREATE TABLE pb_audit_blocks (
  shard   INTEGER NOT NULL,
  seq     BIGINT  NOT NULL,
  n       INTEGER NOT NULL,
  id      TEXT    NOT NULL,
  at      BIGINT  NOT NULL,
  entries TEXT    NOT NULL,
  hash    TEXT    NOT NULL,
  PRIMARY KEY (shard, seq)
);
INSERT INTO pb_audit_blocks (shard, seq, n, id, at, entries, hash)
  SELECT shard, seq, n, id, at, entries, hash FROM pb_audit WHERE n > 0;
