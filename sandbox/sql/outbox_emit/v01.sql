-- Writes one outbox event.
CREATE OR REPLACE FUNCTION outbox_emit(
    p_id varchar, p_merchant varchar, p_type varchar, p_payout_id varchar, p_data jsonb, p_at timestamptz
) RETURNS varchar
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_event (id, merchant, type, payout_id, data, created_at, relayed_at)
    VALUES (p_id, p_merchant, p_type, p_payout_id, p_data, p_at, NULL);
    RETURN p_id;
END $$;
