-- Many postings for one merchant, of any kinds, as `ledger_post` would make them one after
-- the other, in one call and one update of the balance row (a batch chunk's postings, a
-- claimed group's steps). Each posting is its own ledger transaction with its legs in the
-- order given; the merchant's legs take the next gapless seqs in posting order. A posting
-- is refused by `ledger_post` when it leaves a bucket negative, so the guard is the
-- lowest point each bucket reaches along the way (the running sums), not just the sum.
-- All or nothing: when any posting would be refused, no row is returned and nothing is
-- written.
-- v03: one statement, not three (the sums, the balance's update, the transactions and
-- their legs): the postings are numbered and written only from the balance's updated row.
CREATE OR REPLACE FUNCTION ledger_post_many(
    p_merchant varchar, p_at timestamptz, p_kinds varchar[], p_payout_ids varchar[],
    p_buckets text[], p_amounts bigint[]
) RETURNS TABLE (payout_id varchar, transaction_id bigint)
LANGUAGE plpgsql AS $$
-- p_buckets, p_amounts: two-dimensional, one row per posting (in posting order), one
-- column per leg; a posting with fewer legs than the widest pads with NULL buckets.
#variable_conflict use_column
DECLARE
    width int := array_length(p_buckets, 2);
BEGIN
    RETURN QUERY
    -- A two-dimensional array unnests row by row: element k is leg (k - 1) % width + 1 of
    -- posting (k - 1) / width + 1.
    WITH leg AS (
        SELECT (l.k - 1) / width + 1 AS ord, l.k, l.bucket, l.amount
          FROM unnest(p_buckets, p_amounts) WITH ORDINALITY AS l(bucket, amount, k)
         WHERE l.bucket IS NOT NULL
    ), d AS (
        SELECT COALESCE(sum(p.da), 0) AS da, COALESCE(sum(p.dl), 0) AS dl, COALESCE(sum(p.dp), 0) AS dp,
               COALESCE(sum(p.legs), 0) AS legs,
               LEAST(0, min(p.ra)) AS low_a, LEAST(0, min(p.rl)) AS low_l, LEAST(0, min(p.rp)) AS low_p
          FROM (SELECT s.da, s.dl, s.dp, s.legs,
                       sum(s.da) OVER (ORDER BY s.ord) AS ra, sum(s.dl) OVER (ORDER BY s.ord) AS rl,
                       sum(s.dp) OVER (ORDER BY s.ord) AS rp
                  FROM (SELECT leg.ord,
                               COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'available'), 0) AS da,
                               COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'locked'), 0) AS dl,
                               COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'pending'), 0) AS dp,
                               count(*) FILTER (WHERE leg.bucket <> 'external') AS legs
                          FROM leg GROUP BY leg.ord) s) p
    ), moved AS (
        UPDATE balance b
           SET available = b.available + d.da, locked = b.locked + d.dl, pending = b.pending + d.dp,
               last_seq = b.last_seq + d.legs, updated_at = p_at
          FROM d
         WHERE b.merchant = p_merchant
           AND b.available + d.low_a >= 0 AND b.locked + d.low_l >= 0 AND b.pending + d.low_p >= 0
        RETURNING b.last_seq - d.legs AS seq_before
    ), posting AS (
        -- Ids taken in posting order, so a payout's transactions stay in order by id.
        SELECT x.ord, x.kind, x.payout_id, nextval(pg_get_serial_sequence('ledger_transaction', 'id')) AS id
          FROM unnest(p_kinds, p_payout_ids) WITH ORDINALITY AS x(kind, payout_id, ord), moved
         ORDER BY x.ord
    ), tx AS (
        INSERT INTO ledger_transaction (id, merchant, kind, payout_id, created_at)
        SELECT posting.id, p_merchant, posting.kind, posting.payout_id, p_at FROM posting ORDER BY posting.ord
    ), entries AS (
        INSERT INTO ledger_entry (transaction, merchant, bucket, amount, seq, kind, payout_id, created_at)
        SELECT posting.id, p_merchant, leg.bucket, leg.amount,
               CASE WHEN leg.bucket = 'external' THEN NULL
                    ELSE moved.seq_before + count(*) FILTER (WHERE leg.bucket <> 'external') OVER (ORDER BY leg.k) END,
               posting.kind, posting.payout_id, p_at
          FROM leg JOIN posting ON posting.ord = leg.ord CROSS JOIN moved
         ORDER BY leg.k
    )
    SELECT posting.payout_id, posting.id FROM posting ORDER BY posting.ord;
END $$;
