-- The audit trail and cross-system links (internal/audit, internal/link).
-- Portable SQL: BLOB becomes BYTEA on PostgreSQL. Times are Unix microseconds.

-- The audit trail, in one table of two kinds of rows:
--  * blocks (n > 0): the entries one transaction appended to one chain, as
--    a JSON array in chain order; seq is the first entry's, hash the last's.
--    Each entry holds the hash of the entry before it. A block's row is
--    filed under the first object its entries touch (object, id = the first
--    entry's id);
--  * references (n = 0): one row per further object the block touches,
--    pointing at the block by (shard, seq): the index behind "everything that
--    happened to this object".
-- SQLite appends to chain 0 only; PostgreSQL writers take any free chain
-- (see the package doc of internal/audit).
CREATE TABLE pb_audit (
  object  TEXT    NOT NULL,
  id      TEXT    NOT NULL,
  shard   INTEGER NOT NULL,
  seq     BIGINT  NOT NULL,
  n       INTEGER NOT NULL,
  at      BIGINT  NOT NULL,
  entries TEXT    NOT NULL DEFAULT '',
  hash    TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (object, id)
);
CREATE UNIQUE INDEX pb_audit_chain ON pb_audit (shard, seq) WHERE n > 0;
-- The chain heads: each chain's last seq and hash, moved (compare-and-swap)
-- by every append in the appending transaction. Their own table, so moving
-- a head changes no indexed column (on PostgreSQL a HOT update).
CREATE TABLE pb_audit_heads (
  shard INTEGER PRIMARY KEY,
  seq   BIGINT  NOT NULL DEFAULT 0,
  hash  TEXT    NOT NULL DEFAULT '',
  at    BIGINT  NOT NULL DEFAULT 0
);
INSERT INTO pb_audit_heads (shard) VALUES
  (0), (1), (2), (3), (4), (5), (6), (7),
  (8), (9), (10), (11), (12), (13), (14), (15),
  (16), (17), (18), (19), (20), (21), (22), (23),
  (24), (25), (26), (27), (28), (29), (30), (31);

-- A signed checkpoint of a pruned chain prefix: the seq and hash of the last
-- pruned entry, so the first kept entry still verifies.
CREATE TABLE pb_audit_checkpoints (
  shard  INTEGER PRIMARY KEY,
  seq    BIGINT  NOT NULL,
  hash   TEXT    NOT NULL,
  pruned BIGINT  NOT NULL,
  cutoff BIGINT  NOT NULL,
  at     BIGINT  NOT NULL,
  key_id TEXT    NOT NULL,
  mac    TEXT    NOT NULL
);

-- Link sides: each object patchbay linked or wrote, its link group, and what
-- patchbay last wrote to it (for echo suppression and drift checks). recent
-- holds the hashes of the last few writes since the last outside change,
-- newest first, space separated: several writes to one object in a row
-- (approval, then metadata) each come back as an echo.
CREATE TABLE pb_link_sides (
  object     TEXT    PRIMARY KEY,
  grp        TEXT    NOT NULL,
  version    TEXT    NOT NULL DEFAULT '',
  hash       TEXT    NOT NULL DEFAULT '',
  recent     TEXT    NOT NULL DEFAULT '',
  run_id     TEXT    NOT NULL DEFAULT '',
  step       TEXT    NOT NULL DEFAULT '',
  written_at BIGINT  NOT NULL DEFAULT 0,
  changed_at BIGINT  NOT NULL DEFAULT 0,
  created_at BIGINT  NOT NULL
);
CREATE INDEX pb_link_sides_grp ON pb_link_sides (grp);
