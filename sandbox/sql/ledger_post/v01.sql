-- One ledger transaction: the guarded balance update (it takes the balance row lock and
-- matches no row when a bucket would go negative), the transaction row and its legs, the
-- merchant's legs numbered with the next gapless per-merchant seqs (the `external` leg
-- has none). Returns the transaction id and the buckets after it, or no row when refused.
CREATE OR REPLACE FUNCTION ledger_post(
    p_merchant varchar, p_kind varchar, p_payout_id varchar, p_at timestamptz,
    p_buckets text[], p_amounts bigint[]
) RETURNS TABLE (transaction_id bigint, available bigint, locked bigint, pending bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    d_available bigint;
    d_locked bigint;
    d_pending bigint;
    merchant_legs int;
    last_seq_after bigint;
BEGIN
    SELECT COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'available'), 0),
           COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'locked'), 0),
           COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'pending'), 0),
           count(*) FILTER (WHERE leg.bucket <> 'external')
      INTO d_available, d_locked, d_pending, merchant_legs
      FROM unnest(p_buckets, p_amounts) AS leg(bucket, amount);
    UPDATE balance
       SET available = available + d_available, locked = locked + d_locked, pending = pending + d_pending,
           last_seq = last_seq + merchant_legs, updated_at = p_at
     WHERE merchant = p_merchant
       AND available + d_available >= 0 AND locked + d_locked >= 0 AND pending + d_pending >= 0
    RETURNING available, locked, pending, last_seq INTO available, locked, pending, last_seq_after;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO ledger_transaction (merchant, kind, payout_id, created_at)
    VALUES (p_merchant, p_kind, p_payout_id, p_at)
    RETURNING id INTO transaction_id;
    INSERT INTO ledger_entry (transaction, merchant, bucket, amount, seq, kind, payout_id, created_at)
    SELECT transaction_id, p_merchant, leg.bucket, leg.amount,
           CASE WHEN leg.bucket = 'external' THEN NULL
                ELSE last_seq_after - merchant_legs
                     + count(*) FILTER (WHERE leg.bucket <> 'external') OVER (ORDER BY leg.ord) END,
           p_kind, p_payout_id, p_at
      FROM unnest(p_buckets, p_amounts) WITH ORDINALITY AS leg(bucket, amount, ord);
    RETURN NEXT;
END $$;
