-- pgbench: the database work of one POST /payouts, the statements our code sends
-- (sandbox/payouts/service.py _INSERT_SQL, sandbox/ledger/service.py _POST_SQL,
-- sandbox/events/outbox.py, sandbox/core/idempotency.py _STORE_SQL) with the same
-- shapes and sizes, minus what only an HTTP request needs (auth, rate limit, the
-- advisory lock). Merchants `mch_pgbench_<1..:merchants>`, made by `sandbox bench`.
-- Outbox rows are written already relayed so the worker phase does not relay them.
\set m random(1, :merchants)
\set p random(1, 1000000000000000)
BEGIN;
INSERT INTO payout (id, merchant, amount, currency, status, scenario, destination, reference,
                    description, metadata, attempts, failure_code, psp_reference, status_history,
                    next_action_at, created_at, updated_at)
VALUES ('po_pgbench_' || :p::text, 'mch_pgbench_' || :m::text, 100, 'PKR', 'pending', 'success',
        '{"type": "bank","bank_code": "HBL","account_number": "12345678900001","account_title": "Bench Payee"}'::jsonb,
        NULL, 'bench', NULL, 0, NULL, NULL,
        '[{"status": "pending","at": "2026-01-01T00-00-00.000000Z","reason": "created"}]'::jsonb,
        NULL, now(), now())
RETURNING id, merchant, amount, currency, status, scenario, destination, reference, description, metadata,
          attempts, failure_code, psp_reference, status_history, track, step_index, next_action_at, created_at,
          updated_at, number;
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
INSERT INTO outbox_event (id, merchant, type, payout_id, data, created_at, relayed_at)
VALUES ('evt_pgbench_' || :p::text, 'mch_pgbench_' || :m::text, 'payout.created', 'po_pgbench_' || :p::text,
        ('{"id": "po_pgbench_' || :p::text || '","object": "payout","amount": "1.00","currency": "PKR",'
         || '"status": "pending","scenario": "success","destination": {"type": "bank","bank_code": "HBL",'
         || '"account_number": "12345678900001","account_title": "Bench Payee"},"reference": null,'
         || '"description": "bench","metadata": null,"attempts": 0,"failure_code": null,"psp_reference": null,'
         || '"status_history": [{"status": "pending","at": "2026-01-01T00-00-00.000000Z","reason": "created"}],'
         || '"created_at": "2026-01-01T00-00-00.000000Z","updated_at": "2026-01-01T00-00-00.000000Z"}')::jsonb,
        now(), now());
INSERT INTO idempotency_key (scope, key, request_hash, response_status, response_headers,
                             response_body, created_at, expires_at)
VALUES ('mch_pgbench_' || :m::text, 'pgbench-' || :p::text, md5('x') || md5('y'), 201,
        '[["content-type","application/json"]]'::jsonb, convert_to(repeat('x', 640), 'UTF8'),
        now(), now() + interval '24 hours')
ON CONFLICT (scope, key) DO UPDATE SET
    request_hash = EXCLUDED.request_hash, response_status = EXCLUDED.response_status,
    response_headers = EXCLUDED.response_headers, response_body = EXCLUDED.response_body,
    created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
WHERE idempotency_key.expires_at <= now();
END;
