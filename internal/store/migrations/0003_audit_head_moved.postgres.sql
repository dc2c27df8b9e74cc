-- PostgreSQL only. The audit trail's append, sent in one round trip with the
-- COMMIT of the transaction it belongs to, moves its chain's head with a
-- compare-and-swap; when the head had moved (another process appended to
-- the chain), the statement calls this to abort the transaction with a
-- serialization failure, which the store retries (see internal/audit).
CREATE FUNCTION pb_audit_head_moved(chain INTEGER) RETURNS INTEGER LANGUAGE plpgsql VOLATILE AS $$ BEGIN RAISE EXCEPTION 'audit chain % head moved: another process appended to it', chain USING ERRCODE = 'serialization_failure'; END $$;
