-- The audit trail and cross-system links (internal/audit, internal/link).
-- Portable SQL: BLOB becomes BYTEA on PostgreSQL. Times are Unix microseconds.

-- The audit trail, in one table of three kinds of rows:
--  * blocks (n > 0): the entries one transaction appended to one chain, as
--    a JSON array in chain order; seq is the first entry's, hash the last's.
--    Each entry holds the hash of the entry before it. A block's row is
--    filed under the first object its entries touch (object, id = the first
--    entry's id);
--  * references (n = 0): one row per further object the block touches,
--    pointing at the block by (shard, seq): the index behind "everything that
--    happened to this object";
--  * chain heads (object '#head', id = the chain number): the last entry's
--    seq and hash, moved by every append in the appending transaction.
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
INSERT INTO pb_audit (object, id, shard, seq, n, at) VALUES
  ('#head', '00', 0, 0, 0, 0),
  ('#head', '01', 1, 0, 0, 0),
  ('#head', '02', 2, 0, 0, 0),
  ('#head', '03', 3, 0, 0, 0),
  ('#head', '04', 4, 0, 0, 0),
  ('#head', '05', 5, 0, 0, 0),
  ('#head', '06', 6, 0, 0, 0),
  ('#head', '07', 7, 0, 0, 0),
  ('#head', '08', 8, 0, 0, 0),
  ('#head', '09', 9, 0, 0, 0),
  ('#head', '10', 10, 0, 0, 0),
  ('#head', '11', 11, 0, 0, 0),
  ('#head', '12', 12, 0, 0, 0),
  ('#head', '13', 13, 0, 0, 0),
  ('#head', '14', 14, 0, 0, 0),
  ('#head', '15', 15, 0, 0, 0),
  ('#head', '16', 16, 0, 0, 0),
  ('#head', '17', 17, 0, 0, 0),
  ('#head', '18', 18, 0, 0, 0),
  ('#head', '19', 19, 0, 0, 0),
  ('#head', '20', 20, 0, 0, 0),
  ('#head', '21', 21, 0, 0, 0),
  ('#head', '22', 22, 0, 0, 0),
  ('#head', '23', 23, 0, 0, 0),
  ('#head', '24', 24, 0, 0, 0),
  ('#head', '25', 25, 0, 0, 0),
  ('#head', '26', 26, 0, 0, 0),
  ('#head', '27', 27, 0, 0, 0),
  ('#head', '28', 28, 0, 0, 0),
  ('#head', '29', 29, 0, 0, 0),
  ('#head', '30', 30, 0, 0, 0),
  ('#head', '31', 31, 0, 0, 0);

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
