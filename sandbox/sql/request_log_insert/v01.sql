-- Writes one request log entry (sandbox/requests/): every column the sandbox sets
-- (`number` and `logged_at` are the database's). The request log's own insert and
-- `payout_create` call it; the batches written after their answers COPY the same columns.
CREATE OR REPLACE FUNCTION request_log_insert(
    r_id varchar, r_merchant varchar, r_at timestamptz, r_method varchar, r_route varchar, r_path text,
    r_status int, r_duration_ms real, r_idempotency_key varchar, r_idempotency_outcome varchar, r_fault varchar,
    r_object_ids text[], r_request_headers jsonb, r_response_headers jsonb, r_request_body bytea,
    r_response_body bytea, r_request_body_size int, r_response_body_size int
) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO request_log (id, merchant, at, method, route, path, status, duration_ms, idempotency_key,
                             idempotency_outcome, fault, object_ids, request_headers, response_headers,
                             request_body, response_body, request_body_size, response_body_size)
    VALUES (r_id, r_merchant, r_at, r_method, r_route, r_path, r_status, r_duration_ms, r_idempotency_key,
            r_idempotency_outcome, r_fault, r_object_ids, r_request_headers, r_response_headers,
            r_request_body, r_response_body, r_request_body_size, r_response_body_size)
$$;
