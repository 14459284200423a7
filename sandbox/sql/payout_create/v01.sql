-- POST /payouts' common case in one call (one round trip, its own transaction): the
-- idempotency key's advisory lock and stored-response lookup, the ledger posting that
-- locks the funds, the payout row, its events, and the stored response. Its outcome:
-- `in_use` (another request holds the key), `stored` (the key's stored response, to
-- replay or refuse), `refused` (the ledger refused the posting; nothing written) or
-- `created`.
CREATE OR REPLACE FUNCTION payout_create(
    k_lock text, k_scope varchar, k_key varchar, k_hash varchar, k_ttl interval,
    k_status int, k_headers jsonb, k_body bytea,
    l_merchant varchar, l_kind varchar, l_payout_id varchar, l_at timestamptz, l_buckets text[], l_amounts bigint[],
    p_id varchar, p_merchant varchar, p_amount bigint, p_currency varchar, p_status varchar, p_scenario varchar,
    p_destination jsonb, p_reference varchar, p_description varchar, p_metadata jsonb, p_attempts int,
    p_failure_code varchar, p_psp_reference varchar, p_status_history jsonb, p_track varchar, p_step_index int,
    p_next_action_at timestamptz, p_created_at timestamptz, p_updated_at timestamptz,
    e_ids varchar[], e_types varchar[], e_data text[], e_requests text[]
) RETURNS TABLE (outcome text, request_hash varchar, response_status int, response_headers jsonb,
                response_body bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended(k_lock, 0)) THEN
        outcome := 'in_use';
        RETURN NEXT;
        RETURN;
    END IF;
    -- A statement of its own inside a volatile function takes its snapshot now, after
    -- the lock was granted: a request that held the key and committed is seen here.
    SELECT k.request_hash, k.response_status, k.response_headers, k.response_body
      INTO request_hash, response_status, response_headers, response_body
      FROM idempotency_key k
     WHERE k.scope = k_scope AND k.key = k_key AND k.expires_at > now();
    IF FOUND THEN
        outcome := 'stored';
        RETURN NEXT;
        RETURN;
    END IF;
    PERFORM 1 FROM ledger_post(l_merchant, l_kind, l_payout_id, l_at, l_buckets, l_amounts);
    IF NOT FOUND THEN
        outcome := 'refused';
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO payout (id, merchant, amount, currency, status, scenario, destination, reference,
                        description, metadata, attempts, failure_code, psp_reference, status_history,
                        track, step_index, next_action_at, created_at, updated_at)
    VALUES (p_id, p_merchant, p_amount, p_currency, p_status, p_scenario, p_destination, p_reference,
            p_description, p_metadata, p_attempts, p_failure_code, p_psp_reference, p_status_history,
            p_track, p_step_index, p_next_action_at, p_created_at, p_updated_at);
    PERFORM outbox_emit(e.id, p_merchant, e.type, p_id, e.data::jsonb, p_created_at, e.request::jsonb)
       FROM unnest(e_ids, e_types, e_data, e_requests) WITH ORDINALITY AS e(id, type, data, request, ord)
      ORDER BY e.ord;
    -- An expired row for the key is replaced; a live one cannot exist (the lookup above
    -- ran under the key's lock).
    INSERT INTO idempotency_key (scope, key, request_hash, response_status, response_headers, response_body,
                                 created_at, expires_at)
    VALUES (k_scope, k_key, k_hash, k_status, k_headers, k_body, now(), now() + k_ttl)
    ON CONFLICT (scope, key) DO UPDATE SET
        request_hash = EXCLUDED.request_hash, response_status = EXCLUDED.response_status,
        response_headers = EXCLUDED.response_headers, response_body = EXCLUDED.response_body,
        created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
    WHERE idempotency_key.expires_at <= now();
    outcome := 'created';
    RETURN NEXT;
END $$;
