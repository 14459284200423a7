-- The trigger ledger_entry_balanced: a ledger transaction's legs sum to zero. Once per
-- INSERT statement, over the rows it inserted (`inserted`): every posting inserts all of a
-- transaction's legs in one statement (ledger_post, ledger_post_many), and the ledger is
-- append-only, so each statement balancing its own legs is each transaction balancing. v01
-- ran at commit once per leg and read the transaction's legs back: four reads a payout.
CREATE OR REPLACE FUNCTION ledger_transaction_balanced() RETURNS trigger AS $$
DECLARE
    unbalanced bigint;
    total bigint;
BEGIN
    SELECT "transaction", sum(amount) INTO unbalanced, total
      FROM inserted GROUP BY "transaction" HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (sum %)', unbalanced, total
            USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
