-- The constraint trigger ledger_entry_balanced: a ledger transaction's legs sum to zero.
-- Deferred to commit: the legs of one transaction are inserted one statement apart.
CREATE OR REPLACE FUNCTION ledger_transaction_balanced() RETURNS trigger AS $$
DECLARE total bigint;
BEGIN
    SELECT COALESCE(SUM(amount), 0) INTO total
      FROM ledger_entry WHERE "transaction" = NEW."transaction";
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (sum %)', NEW."transaction", total
            USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
