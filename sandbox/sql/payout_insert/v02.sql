-- Writes one new payout row: every column the sandbox sets (`number` is the database's).
-- v02: `script`, the merchant's own scenario a payout follows (NULL: a built-in one).
CREATE OR REPLACE FUNCTION payout_insert(
    p_id varchar, p_merchant varchar, p_amount bigint, p_currency varchar, p_status varchar, p_scenario varchar,
    p_destination jsonb, p_reference varchar, p_description varchar, p_metadata jsonb, p_attempts int,
    p_failure_code varchar, p_psp_reference varchar, p_status_history jsonb, p_track varchar, p_step_index int,
    p_next_action_at timestamptz, p_created_at timestamptz, p_updated_at timestamptz, p_script jsonb
) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payout (id, merchant, amount, currency, status, scenario, destination, reference,
                        description, metadata, attempts, failure_code, psp_reference, status_history,
                        track, step_index, next_action_at, created_at, updated_at, script)
    VALUES (p_id, p_merchant, p_amount, p_currency, p_status, p_scenario, p_destination, p_reference,
            p_description, p_metadata, p_attempts, p_failure_code, p_psp_reference, p_status_history,
            p_track, p_step_index, p_next_action_at, p_created_at, p_updated_at, p_script)
$$;
