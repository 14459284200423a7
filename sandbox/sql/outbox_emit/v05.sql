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
-- v05: the event and its line in one statement (the line's insert reads the event's
-- `number` from the event's), not two: one statement less for each event.
CREATE OR REPLACE FUNCTION outbox_emit(
    p_id varchar, p_merchant varchar, p_type varchar, p_payout_id varchar, p_data jsonb, p_at timestamptz,
    p_request jsonb DEFAULT NULL
) RETURNS varchar
LANGUAGE plpgsql AS $$
BEGIN
    WITH event AS (
        INSERT INTO outbox_event (id, merchant, type, payout_id, data, created_at, request, sequence)
        VALUES (p_id, p_merchant, p_type, p_payout_id, p_data, p_at, p_request,
                CASE WHEN p_payout_id IS NULL THEN 1
                     ELSE (SELECT coalesce(max(e.sequence), 0) + 1 FROM outbox_event e WHERE e.payout_id = p_payout_id)
                END)
        RETURNING number
    )
    INSERT INTO outbox_unrelayed (created_at, number) SELECT p_at, event.number FROM event;
    RETURN p_id;
END $$;
