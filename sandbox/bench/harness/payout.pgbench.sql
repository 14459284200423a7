-- pgbench: the database work of one POST /payouts (the payout row by `payout_insert`, the
-- ledger posting, the outbox event, the stored response by `idempotency_store`; see
-- sandbox/sql/) with the same shapes and sizes, minus what only an HTTP request needs
-- (auth, rate limit, the idempotency key's claim). Merchants `mch_pgbench_<1..:merchants>`, made by `sandbox bench`.
-- Outbox rows are written with no line in `outbox_unrelayed` (as if relayed), so the worker phase does not relay them.
\set m random(1, :merchants)
\set p random(1, 1000000000000000)
BEGIN;
SELECT payout_insert('po_pgbench_' || :p::text, 'mch_pgbench_' || :m::text, 100, 'PKR', 'pending', 'success',
        '{"type": "bank","bank_code": "HBL","account_number": "12345678900001","account_title": "Bench Payee"}'::jsonb,
        NULL, 'bench', NULL, 0, NULL, NULL,
        '[{"status": "pending","at": "2026-01-01T00-00-00.000000Z","reason": "created"}]'::jsonb,
        'main', 0, NULL, now(), now(), NULL);
WITH b AS (
    UPDATE balance
       SET available = available + -100, locked = locked + 100, pending = pending + 0,
           last_seq = last_seq + 2, updated_at = now()
     WHERE merchant = 'mch_pgbench_' || :m::text AND available + -100 >= 0 AND locked + 100 >= 0 AND pending + 0 >= 0
    RETURNING available, locked, pending, last_seq
), t AS (
    INSERT INTO ledger_transaction (merchant, kind, payout_id, created_at)
    SELECT 'mch_pgbench_' || :m::text, 'payout_created', 'po_pgbench_' || :p::text, now() FROM b
    RETURNING id
), e AS (
    INSERT INTO ledger_entry (transaction, merchant, bucket, amount, seq, kind, payout_id, created_at)
    SELECT t.id, 'mch_pgbench_' || :m::text, leg.bucket, leg.amount, b.last_seq - 2 + leg.ord,
           'payout_created', 'po_pgbench_' || :p::text, now()
      FROM t, b, unnest('{available,locked}'::text[], '{-100,100}'::bigint[], '{1,2}'::int[])
           AS leg(bucket, amount, ord)
)
SELECT b.available, b.locked, b.pending, t.id AS transaction_id FROM b, t;
INSERT INTO outbox_event (id, merchant, type, payout_id, data, created_at, sequence)
VALUES ('evt_pgbench_' || :p::text, 'mch_pgbench_' || :m::text, 'payout.created', 'po_pgbench_' || :p::text,
        ('{"id": "po_pgbench_' || :p::text || '","object": "payout","amount": "1.00","currency": "PKR",'
         || '"status": "pending","scenario": "success","destination": {"type": "bank","bank_code": "HBL",'
         || '"account_number": "12345678900001","account_title": "Bench Payee"},"reference": null,'
         || '"description": "bench","metadata": null,"attempts": 0,"failure_code": null,"psp_reference": null,'
         || '"status_history": [{"status": "pending","at": "2026-01-01T00-00-00.000000Z","reason": "created"}],'
         || '"created_at": "2026-01-01T00-00-00.000000Z","updated_at": "2026-01-01T00-00-00.000000Z"}')::jsonb,
        now(), 1);
SELECT idempotency_store('mch_pgbench_' || :m::text, 'pgbench-' || :p::text, md5('x') || md5('y'), 201,
        '[["content-type","application/json"]]'::jsonb, convert_to(repeat('x', 640), 'UTF8'), interval '24 hours');
END;
