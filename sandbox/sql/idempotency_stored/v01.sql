-- The idempotency key's stored response while it lives (no row when there is none, or
-- it expired): what a repeated key is answered with.
CREATE OR REPLACE FUNCTION idempotency_stored(k_scope varchar, k_key varchar)
RETURNS TABLE (request_hash varchar, response_status int, response_headers jsonb, response_body bytea)
LANGUAGE sql STABLE AS $$
    SELECT k.request_hash, k.response_status, k.response_headers, k.response_body
      FROM idempotency_key k
     WHERE k.scope = k_scope AND k.key = k_key AND k.expires_at > now()
$$;
