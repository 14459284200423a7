-- Stores the response to the key's request, kept for `k_ttl`. An expired row for the key
-- is replaced; a live one is kept and the result is false: a request that held the key
-- before stored its answer first, and this request's effect must not stand.
CREATE OR REPLACE FUNCTION idempotency_store(
    k_scope varchar, k_key varchar, k_hash varchar, k_status int, k_headers jsonb, k_body bytea, k_ttl interval
) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO idempotency_key (scope, key, request_hash, response_status, response_headers, response_body,
                                 created_at, expires_at)
    VALUES (k_scope, k_key, k_hash, k_status, k_headers, k_body, now(), now() + k_ttl)
    ON CONFLICT (scope, key) DO UPDATE SET
        request_hash = EXCLUDED.request_hash, response_status = EXCLUDED.response_status,
        response_headers = EXCLUDED.response_headers, response_body = EXCLUDED.response_body,
        created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
    WHERE idempotency_key.expires_at <= now();
    RETURN FOUND;
END $$;
