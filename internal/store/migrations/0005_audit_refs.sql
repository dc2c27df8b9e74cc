-- The audit trail's object references (ADR 0005): one row per object a
-- block's entries touch (the first one too), keyed by (object, id), the
-- index behind "everything that happened to this object". On SQLite a
-- WITHOUT ROWID table: the row is its own index entry (the store drops the
-- clause on PostgreSQL). Then the one-table layout of 0002 goes.
CREATE TABLE pb_audit_refs (
  object TEXT    NOT NULL,
  id     TEXT    NOT NULL,
  shard  INTEGER NOT NULL,
  seq    BIGINT  NOT NULL,
  PRIMARY KEY (object, id)
) WITHOUT ROWID;
INSERT INTO pb_audit_refs (object, id, shard, seq)
  SELECT object, id, shard, seq FROM pb_audit WHERE object <> '';
DROP TABLE pb_audit;
