-- Ledger rows are history: never changed, never removed (trigger ledger_entry_append_only).
CREATE OR REPLACE FUNCTION ledger_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only' USING ERRCODE = '23514';
END $$ LANGUAGE plpgsql;
