-- A request's claim on its idempotency key, for every mutating request (the
-- middleware's transaction, and payout_create's one call): the key's transaction-scoped
-- advisory lock on `k_lock`, and once granted the key's stored response (NULLs when
-- none). got_lock false: another request holds the key now.
CREATE OR REPLACE FUNCTION idempotency_claim(k_lock text, k_scope varchar, k_key varchar)
RETURNS TABLE (got_lock boolean, request_hash varchar, response_status int, response_headers jsonb,
               response_body bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    got_lock := pg_try_advisory_xact_lock(hashtextextended(k_lock, 0));
    IF got_lock THEN
        -- A statement of its own inside a volatile function takes its snapshot now, after
        -- the lock was granted: a request that held the key and committed is seen here.
        SELECT s.request_hash, s.response_status, s.response_headers, s.response_body
          INTO request_hash, response_status, response_headers, response_body
          FROM idempotency_stored(k_scope, k_key) s;
    END IF;
    RETURN NEXT;
END $$;
