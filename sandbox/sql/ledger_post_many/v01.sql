-- Many postings of one kind for one merchant, as `ledger_post` would make them one after
-- the other, in one call and one update of the balance row (a batch chunk's postings).
-- Postings of one kind move every bucket the same way, so if the sum leaves no bucket
-- negative neither does any posting before it. All or nothing: when the sum is refused,
-- no row is returned and nothing is written.
CREATE OR REPLACE FUNCTION ledger_post_many(
    p_merchant varchar, p_kind varchar, p_at timestamptz, p_payout_ids varchar[],
    p_buckets text[], p_amounts bigint[]
) RETURNS TABLE (payout_id varchar, transaction_id bigint)
LANGUAGE plpgsql AS $$
-- p_amounts: two-dimensional, one row per payout (in posting order), one column per
-- bucket of p_buckets.
#variable_conflict use_column
DECLARE
    n int := cardinality(p_payout_ids);
    width int := cardinality(p_buckets);
    merchant_legs int;
    d_available bigint;
    d_locked bigint;
    d_pending bigint;
    first_seq bigint;
BEGIN
    SELECT count(*) FILTER (WHERE b.bucket <> 'external') INTO merchant_legs
      FROM unnest(p_buckets) AS b(bucket);
    -- A two-dimensional array unnests row by row: element k is leg (k - 1) % width + 1.
    SELECT COALESCE(sum(a.amount) FILTER (WHERE p_buckets[(a.k - 1) % width + 1] = 'available'), 0),
           COALESCE(sum(a.amount) FILTER (WHERE p_buckets[(a.k - 1) % width + 1] = 'locked'), 0),
           COALESCE(sum(a.amount) FILTER (WHERE p_buckets[(a.k - 1) % width + 1] = 'pending'), 0)
      INTO d_available, d_locked, d_pending
      FROM unnest(p_amounts) WITH ORDINALITY AS a(amount, k);
    UPDATE balance
       SET available = available + d_available, locked = locked + d_locked, pending = pending + d_pending,
           last_seq = last_seq + n * merchant_legs, updated_at = p_at
     WHERE merchant = p_merchant
       AND available + d_available >= 0 AND locked + d_locked >= 0 AND pending + d_pending >= 0
    RETURNING last_seq - n * merchant_legs + 1 INTO first_seq;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH posting AS (
        SELECT x.payout_id, x.ord FROM unnest(p_payout_ids) WITH ORDINALITY AS x(payout_id, ord)
    ), tx AS (
        INSERT INTO ledger_transaction (merchant, kind, payout_id, created_at)
        SELECT p_merchant, p_kind, posting.payout_id, p_at FROM posting ORDER BY posting.ord
        RETURNING id, payout_id
    ), leg AS (
        SELECT a.amount, (a.k - 1) / width + 1 AS ord, (a.k - 1) % width + 1 AS col
          FROM unnest(p_amounts) WITH ORDINALITY AS a(amount, k)
    ), entries AS (
        INSERT INTO ledger_entry (transaction, merchant, bucket, amount, seq, kind, payout_id, created_at)
        SELECT tx.id, p_merchant, p_buckets[leg.col], leg.amount,
               CASE WHEN p_buckets[leg.col] = 'external' THEN NULL
                    ELSE first_seq + (leg.ord - 1) * merchant_legs
                         + count(*) FILTER (WHERE p_buckets[leg.col] <> 'external')
                               OVER (PARTITION BY leg.ord ORDER BY leg.col) - 1 END,
               p_kind, tx.payout_id, p_at
          FROM leg JOIN posting ON posting.ord = leg.ord JOIN tx ON tx.payout_id = posting.payout_id
         ORDER BY leg.ord, leg.col
    )
    SELECT tx.payout_id, tx.id FROM tx;
END $$;
