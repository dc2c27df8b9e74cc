-- PostgreSQL only (0004_audit_blocks_refs.sqlite.sql is SQLite's). The audit
-- trail's two kinds of rows get a table each (ADR 0005): blocks keyed by
-- chain and position, and one reference row per object a block's entries
-- touch (the first one too).
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
CREATE TABLE pb_audit_refs (
  object TEXT    NOT NULL,
  id     TEXT    NOT NULL,
  shard  INTEGER NOT NULL,
  seq    BIGINT  NOT NULL,
  PRIMARY KEY (object, id)
);
INSERT INTO pb_audit_blocks (shard, seq, n, id, at, entries, hash)
  SELECT shard, seq, n, id, at, entries, hash FROM pb_audit WHERE n > 0;
INSERT INTO pb_audit_refs (object, id, shard, seq)
  SELECT object, id, shard, seq FROM pb_audit WHERE object <> '';
DROP TABLE pb_audit;
