-- One ledger transaction: the guarded balance update (it takes the balance row lock and
-- matches no row when a bucket would go negative), the transaction row and its legs, the
-- merchant's legs numbered with the next gapless per-merchant seqs (the `external` leg
-- has none). Returns the transaction id and the buckets after it, or no row when refused.
-- v02: one statement, not four (the legs' sums, the balance's update, the transaction,
-- its legs): the transaction and its legs are written only from the balance's updated
-- row, so a refused posting writes nothing, as before.
CREATE OR REPLACE FUNCTION ledger_post(
    p_merchant varchar, p_kind varchar, p_payout_id varchar, p_at timestamptz,
    p_buckets text[], p_amounts bigint[]
) RETURNS TABLE (transaction_id bigint, available bigint, locked bigint, pending bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH leg AS (
        SELECT l.bucket, l.amount, l.ord FROM unnest(p_buckets, p_amounts) WITH ORDINALITY AS l(bucket, amount, ord)
    ), d AS (
        SELECT COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'available'), 0) AS available,
               COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'locked'), 0) AS locked,
               COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'pending'), 0) AS pending,
               count(*) FILTER (WHERE leg.bucket <> 'external') AS legs
          FROM leg
    ), moved AS (
        UPDATE balance b
           SET available = b.available + d.available, locked = b.locked + d.locked, pending = b.pending + d.pending,
               last_seq = b.last_seq + d.legs, updated_at = p_at
          FROM d
         WHERE b.merchant = p_merchant
           AND b.available + d.available >= 0 AND b.locked + d.locked >= 0 AND b.pending + d.pending >= 0
        RETURNING b.available, b.locked, b.pending, b.last_seq - d.legs AS seq_before
    ), tx AS (
        INSERT INTO ledger_transaction (merchant, kind, payout_id, created_at)
        SELECT p_merchant, p_kind, p_payout_id, p_at FROM moved
        RETURNING id
    ), entries AS (
        INSERT INTO ledger_entry (transaction, merchant, bucket, amount, seq, kind, payout_id, created_at)
        SELECT tx.id, p_merchant, leg.bucket, leg.amount,
               CASE WHEN leg.bucket = 'external' THEN NULL
                    ELSE moved.seq_before + count(*) FILTER (WHERE leg.bucket <> 'external') OVER (ORDER BY leg.ord) END,
               p_kind, p_payout_id, p_at
          FROM leg, moved, tx
    )
    SELECT tx.id, moved.available, moved.locked, moved.pending FROM tx, moved;
END $$;
