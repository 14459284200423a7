-- Writes one outbox event, with the API request that caused it (`{"id", "idempotency_key"}`,
-- NULL when the worker, the rail's callback or a clock did): a caller that passes six
-- arguments still writes an event without a cause.
CREATE OR REPLACE FUNCTION outbox_emit(
    p_id varchar, p_merchant varchar, p_type varchar, p_payout_id varchar, p_data jsonb, p_at timestamptz,
    p_request jsonb DEFAULT NULL
) RETURNS varchar
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_event (id, merchant, type, payout_id, data, created_at, relayed_at, request)
    VALUES (p_id, p_merchant, p_type, p_payout_id, p_data, p_at, NULL, p_request);
    RETURN p_id;
END $$;
