-- Ledger rows are history: never changed, and never removed (trigger
-- ledger_entry_append_only) except in one case: the retention job removing a whole
-- merchant (sandbox/retention/removal.py). It names that merchant for its own transaction
-- only (`SET LOCAL sandbox.removing_merchant`, set_config(..., true)) and deletes every
-- row the merchant has; a row of any other merchant, and any UPDATE, is still refused.
-- No merchant that remains loses a row, so each remaining merchant's buckets still
-- equal the sums of its entries.
CREATE OR REPLACE FUNCTION ledger_is_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND OLD.merchant = current_setting('sandbox.removing_merchant', true) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'ledger rows are append-only' USING ERRCODE = '23514';
END $$ LANGUAGE plpgsql;
