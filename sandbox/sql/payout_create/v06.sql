-- POST /payouts' common case in one call (one round trip, its own transaction): the
-- idempotency key's claim (idempotency_claim), the payout row, its events, the stored
-- response (idempotency_store), the request's log entry (request_log_insert; none when
-- `r_id` is null), so the entry commits with the payout, and last the ledger posting that
-- locks the funds. A call that makes no payout writes no entry: the request log writes it
-- after the answer, with what the request got. Its outcome:
-- `in_use` (another request holds the key), `stored` (the key's stored response, to
-- replay or refuse), `refused` (the balance, as last committed, cannot take the posting;
-- nothing written) or `created`.
-- v05: the posting is the last statement, so the merchant's balance row is locked only
-- for the ledger's rows and the commit, as the worker's postings are (ledger_post_many),
-- not while the payout, its events, the key and the log entry are written: a merchant's
-- next POST waited for all of those. A balance that cannot take the posting is seen first
-- without the lock (nothing written, `refused`); one that another transaction emptied
-- meanwhile refuses under the lock, and the call raises SQLSTATE 'SBNSF' (insufficient
-- funds), which rolls back everything it wrote; the caller reads it as `refused`.
-- v06: the shared writes are called in assignments, not PERFORMs, and the events are written
-- by one call of outbox_emit_many. PL/pgSQL evaluates a lone function call in an assignment
-- as a simple expression, straight through the expression evaluator; a PERFORM runs a SELECT
-- through the executor (its start-up and end, a statement of its own), four a POST. What
-- each call writes, and in what order, is as before. (A function that returns a table,
-- idempotency_claim and ledger_post, is read with a SELECT as before: a set is never a simple
-- expression.) The void ones answer NULL; `written` and `emitted` are read by nobody.
CREATE OR REPLACE FUNCTION payout_create(
    k_lock text, k_scope varchar, k_key varchar, k_hash varchar, k_ttl interval,
    k_status int, k_headers jsonb, k_body bytea,
    r_id varchar, r_merchant varchar, r_at timestamptz, r_method varchar, r_route varchar, r_path text,
    r_status int, r_duration_ms real, r_idempotency_key varchar, r_idempotency_outcome varchar, r_fault varchar,
    r_object_ids text[], r_request_headers jsonb, r_response_headers jsonb, r_request_body bytea,
    r_response_body bytea, r_request_body_size int, r_response_body_size int,
    l_merchant varchar, l_kind varchar, l_payout_id varchar, l_at timestamptz, l_buckets text[], l_amounts bigint[],
    p_id varchar, p_merchant varchar, p_amount bigint, p_currency varchar, p_status varchar, p_scenario varchar,
    p_destination jsonb, p_reference varchar, p_description varchar, p_metadata jsonb, p_attempts int,
    p_failure_code varchar, p_psp_reference varchar, p_status_history jsonb, p_track varchar, p_step_index int,
    p_next_action_at timestamptz, p_created_at timestamptz, p_updated_at timestamptz,
    e_ids varchar[], e_types varchar[], e_data text[], e_requests text[], p_script jsonb
) RETURNS TABLE (outcome text, request_hash varchar, response_status int, response_headers jsonb,
                response_body bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    got_lock boolean;
    written boolean;
    emitted integer;
BEGIN
    SELECT c.got_lock, c.request_hash, c.response_status, c.response_headers, c.response_body
      INTO got_lock, request_hash, response_status, response_headers, response_body
      FROM idempotency_claim(k_lock, k_scope, k_key) c;
    IF NOT got_lock THEN
        outcome := 'in_use';
        RETURN NEXT;
        RETURN;
    END IF;
    IF request_hash IS NOT NULL THEN
        outcome := 'stored';
        RETURN NEXT;
        RETURN;
    END IF;
    PERFORM 1 FROM balance b,
                   (SELECT COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'available'), 0) AS available,
                           COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'locked'), 0) AS locked,
                           COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'pending'), 0) AS pending
                      FROM unnest(l_buckets, l_amounts) AS leg(bucket, amount)) d
     WHERE b.merchant = l_merchant
       AND b.available + d.available >= 0 AND b.locked + d.locked >= 0 AND b.pending + d.pending >= 0;
    IF NOT FOUND THEN
        outcome := 'refused';
        RETURN NEXT;
        RETURN;
    END IF;
    written := payout_insert(p_id, p_merchant, p_amount, p_currency, p_status, p_scenario, p_destination,
                             p_reference, p_description, p_metadata, p_attempts, p_failure_code, p_psp_reference,
                             p_status_history, p_track, p_step_index, p_next_action_at, p_created_at, p_updated_at,
                             p_script) IS NULL;
    emitted := outbox_emit_many(e_ids, array_fill(p_merchant, ARRAY[cardinality(e_ids)]), e_types,
                                array_fill(p_id, ARRAY[cardinality(e_ids)]), e_data::jsonb[],
                                array_fill(p_created_at, ARRAY[cardinality(e_ids)]), e_requests::jsonb[]);
    -- The key is free to store: the claim found no live row under the key's lock.
    written := idempotency_store(k_scope, k_key, k_hash, k_status, k_headers, k_body, k_ttl);
    IF r_id IS NOT NULL THEN
        written := request_log_insert(r_id, r_merchant, r_at, r_method, r_route, r_path, r_status, r_duration_ms,
                                      r_idempotency_key, r_idempotency_outcome, r_fault, r_object_ids,
                                      r_request_headers, r_response_headers, r_request_body, r_response_body,
                                      r_request_body_size, r_response_body_size) IS NULL;
    END IF;
    PERFORM 1 FROM ledger_post(l_merchant, l_kind, l_payout_id, l_at, l_buckets, l_amounts);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insufficient funds: the balance changed under this posting' USING ERRCODE = 'SBNSF';
    END IF;
    outcome := 'created';
    RETURN NEXT;
END $$;
