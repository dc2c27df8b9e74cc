-- The audit trail's object index is built behind the chain (ADR 0006): an
-- append writes the block with the objects its entries touch (a JSON list,
-- so no entry needs decoding to index it), and an indexer adds the
-- pb_audit_refs rows of whole batches of blocks later. pb_audit_indexed
-- holds, per chain, the position below which every block is indexed;
-- queries read the blocks at and above it directly. Everything written
-- before this migration is indexed already.
ALTER TABLE pb_audit_blocks ADD COLUMN objects TEXT NOT NULL DEFAULT '';
CREATE TABLE pb_audit_indexed (
  shard INTEGER PRIMARY KEY,
  upto  BIGINT  NOT NULL
);
INSERT INTO pb_audit_indexed (shard, upto) SELECT shard, seq + 1 FROM pb_audit_heads;
