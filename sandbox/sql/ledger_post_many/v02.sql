-- Many postings for one merchant, of any kinds, as `ledger_post` would make them one after
-- the other, in one call and one update of the balance row (a batch chunk's postings, a
-- claimed group's steps). Each posting is its own ledger transaction with its legs in the
-- order given; the merchant's legs take the next gapless seqs in posting order. A posting
-- is refused by `ledger_post` when it leaves a bucket negative, so the guard is the
-- lowest point each bucket reaches along the way (the running sums), not just the sum.
-- All or nothing: when any posting would be refused, no row is returned and nothing is
-- written.
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
    merchant_legs int;
    d_available bigint;
    d_locked bigint;
    d_pending bigint;
    low_available bigint;
    low_locked bigint;
    low_pending bigint;
    seq_before bigint;
BEGIN
    -- A two-dimensional array unnests row by row: element k is leg (k - 1) % width + 1 of
    -- posting (k - 1) / width + 1.
    SELECT COALESCE(sum(p.da), 0), COALESCE(sum(p.dl), 0), COALESCE(sum(p.dp), 0), COALESCE(sum(p.legs), 0),
           LEAST(0, min(p.ra)), LEAST(0, min(p.rl)), LEAST(0, min(p.rp))
      INTO d_available, d_locked, d_pending, merchant_legs, low_available, low_locked, low_pending
      FROM (SELECT s.da, s.dl, s.dp, s.legs,
                   sum(s.da) OVER (ORDER BY s.ord) AS ra, sum(s.dl) OVER (ORDER BY s.ord) AS rl,
                   sum(s.dp) OVER (ORDER BY s.ord) AS rp
              FROM (SELECT (l.k - 1) / width + 1 AS ord,
                           COALESCE(sum(l.amount) FILTER (WHERE l.bucket = 'available'), 0) AS da,
                           COALESCE(sum(l.amount) FILTER (WHERE l.bucket = 'locked'), 0) AS dl,
                           COALESCE(sum(l.amount) FILTER (WHERE l.bucket = 'pending'), 0) AS dp,
                           count(*) FILTER (WHERE l.bucket <> 'external') AS legs
                      FROM unnest(p_buckets, p_amounts) WITH ORDINALITY AS l(bucket, amount, k)
                     WHERE l.bucket IS NOT NULL
                     GROUP BY 1) s) p;
    UPDATE balance
       SET available = available + d_available, locked = locked + d_locked, pending = pending + d_pending,
           last_seq = last_seq + merchant_legs, updated_at = p_at
     WHERE merchant = p_merchant
       AND available + low_available >= 0 AND locked + low_locked >= 0 AND pending + low_pending >= 0
    RETURNING last_seq - merchant_legs INTO seq_before;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH posting AS (
        -- Ids taken in posting order, so a payout's transactions stay in order by id.
        SELECT x.ord, x.kind, x.payout_id, nextval(pg_get_serial_sequence('ledger_transaction', 'id')) AS id
          FROM unnest(p_kinds, p_payout_ids) WITH ORDINALITY AS x(kind, payout_id, ord)
         ORDER BY x.ord
    ), tx AS (
        INSERT INTO ledger_transaction (id, merchant, kind, payout_id, created_at)
        SELECT posting.id, p_merchant, posting.kind, posting.payout_id, p_at FROM posting ORDER BY posting.ord
    ), leg AS (
        SELECT (l.k - 1) / width + 1 AS ord, l.k, l.bucket, l.amount
          FROM unnest(p_buckets, p_amounts) WITH ORDINALITY AS l(bucket, amount, k)
         WHERE l.bucket IS NOT NULL
    ), entries AS (
        INSERT INTO ledger_entry (transaction, merchant, bucket, amount, seq, kind, payout_id, created_at)
        SELECT posting.id, p_merchant, leg.bucket, leg.amount,
               CASE WHEN leg.bucket = 'external' THEN NULL
                    ELSE seq_before + count(*) FILTER (WHERE leg.bucket <> 'external') OVER (ORDER BY leg.k) END,
               posting.kind, posting.payout_id, p_at
          FROM leg JOIN posting ON posting.ord = leg.ord
         ORDER BY leg.k
    )
    SELECT posting.payout_id, posting.id FROM posting ORDER BY posting.ord;
END $$;
