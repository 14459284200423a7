-- Writes one outbox event, with the API request that caused it (`{"id", "idempotency_key"}`,
-- NULL when the worker, the rail's callback or a clock did): a caller that passes six
-- arguments still writes an event without a cause.
-- The event's `sequence` is its place among its payout's events (1, 2, 3, … in the order
-- they are written: payout.created is 1); 1 for an event about no payout. Whoever writes a
-- payout's event holds the payout's row (a new payout's own statement, or FOR UPDATE
-- before a move), so two moves of one payout never count from the same last number; the
-- unique index on (payout_id, sequence) refuses the second if one ever did.
-- The event is also listed in `outbox_unrelayed` until the relay takes it, where the relay
-- finds it and deletes it; the event's own row is never written again.
-- v06: written by outbox_emit_many, which holds the rule for one event or many; called in
-- an assignment (a simple expression), so one event is still one statement.
CREATE OR REPLACE FUNCTION outbox_emit(
    p_id varchar, p_merchant varchar, p_type varchar, p_payout_id varchar, p_data jsonb, p_at timestamptz,
    p_request jsonb DEFAULT NULL
) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    written integer;
BEGIN
    written := outbox_emit_many(ARRAY[p_id], ARRAY[p_merchant], ARRAY[p_type], ARRAY[p_payout_id], ARRAY[p_data],
                                ARRAY[p_at], ARRAY[p_request]);
    RETURN p_id;
END $$;
