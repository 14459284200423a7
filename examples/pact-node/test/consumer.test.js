// The consumer's side: what this payout console expects of MyPay, recorded by pact-js's
// mock server into pacts/payout-console-node-MyPay.json (a V4 pact). The requests are
// made with fetch, as the console's own client would make them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { PactV4, MatchersV3 } from '@pact-foundation/pact';

const { like, fromProviderState } = MatchersV3;
const pact = new PactV4({
  consumer: 'payout-console-node', provider: 'MyPay',
  dir: path.resolve(import.meta.dirname, '..', 'pacts'), logLevel: 'warn',
});
// The merchant key the verifier takes from the provider state's answer (its `apiKey`).
const apiKey = fromProviderState('${apiKey}', 'sk_test_example');
const payout = (extra = {}) => ({
  amount: '1500.00', currency: 'PKR', ...extra,
  destination: { type: 'bank', bank_code: 'HBL', account_number: '12345678900001', account_title: 'Ali Raza' },
});

test('a new payout is created: 201, pending', () => pact.addInteraction()
  .given('a merchant')
  .uponReceiving('a new payout')
  .withRequest('POST', '/api/v1/payouts', (b) => b
    .headers({ 'X-API-KEY': apiKey, 'X-Idempotency-Key': 'order-42' })
    .jsonBody(payout()))
  .willRespondWith(201, (b) => b.jsonBody({ id: like('po_123'), status: like('pending'), amount: '1500.00' }))
  .executeTest(async (server) => {
    const r = await fetch(`${server.url}/api/v1/payouts`, {
      method: 'POST', body: JSON.stringify(payout()),
      headers: { 'Content-Type': 'application/json', 'X-API-KEY': 'sk_test_example', 'X-Idempotency-Key': 'order-42' },
    });
    assert.equal(r.status, 201);
  }));

test('a failed payout reads back with its failure code', () => pact.addInteraction()
  .given('a payout', { scenario: 'failed_account_closed', status: 'failed' })
  .uponReceiving('a failed payout')
  .withRequest('GET', fromProviderState('/api/v1/payouts/${payoutId}', '/api/v1/payouts/po_123'),
    (b) => b.headers({ 'X-API-KEY': apiKey }))
  .willRespondWith(200, (b) => b.jsonBody({ id: like('po_123'), status: 'failed', failure_code: 'account_closed' }))
  .executeTest(async (server) => {
    const r = await fetch(`${server.url}/api/v1/payouts/po_123`, { headers: { 'X-API-KEY': 'sk_test_example' } });
    assert.equal((await r.json()).failure_code, 'account_closed');
  }));

test('an unknown field is a 400 problem', () => pact.addInteraction()
  .given('a merchant')
  .uponReceiving('a payout with an unknown field')
  .withRequest('POST', '/api/v1/payouts', (b) => b
    .headers({ 'X-API-KEY': apiKey, 'X-Idempotency-Key': 'order-43' })
    .jsonBody(payout({ colour: 'red' })))
  .willRespondWith(400, (b) => b
    .headers({ 'Content-Type': 'application/problem+json' })
    .jsonBody({ status: 400, code: 'validation_error' }))
  .executeTest(async (server) => {
    const r = await fetch(`${server.url}/api/v1/payouts`, {
      method: 'POST', body: JSON.stringify(payout({ colour: 'red' })),
      headers: { 'Content-Type': 'application/json', 'X-API-KEY': 'sk_test_example', 'X-Idempotency-Key': 'order-43' },
    });
    assert.equal(r.status, 400);
  }));

// An admin's approval of a payout in review, with a fixed idempotency key: the state hands
// out the admin key (`adminKey`), and the sandbox keeps an admin's idempotency keys per
// merchant, so each verification's fresh state takes the key anew (run.sh verifies twice).
test('a payout in review is approved: 200, pending', () => pact.addInteraction()
  .given('a payout in review')
  .uponReceiving('an approval of a payout in review')
  .withRequest('POST', fromProviderState('/api/v1/admin/payouts/${payoutId}/approve',
    '/api/v1/admin/payouts/po_123/approve'), (b) => b
    .headers({ 'X-API-KEY': fromProviderState('${adminKey}', 'sk_admin_example'), 'X-Idempotency-Key': 'approve-42' })
    .jsonBody({ reason: 'documents checked' }))
  .willRespondWith(200, (b) => b.jsonBody({ id: like('po_123'), status: 'pending' }))
  .executeTest(async (server) => {
    const r = await fetch(`${server.url}/api/v1/admin/payouts/po_123/approve`, {
      method: 'POST', body: JSON.stringify({ reason: 'documents checked' }),
      headers: { 'Content-Type': 'application/json', 'X-API-KEY': 'sk_admin_example', 'X-Idempotency-Key': 'approve-42' },
    });
    assert.equal((await r.json()).status, 'pending');
  }));

test('the payout.failed webhook is handled', () => pact.addAsynchronousInteraction()
  .given('a payout', { scenario: 'failed_account_closed' })
  .expectsToReceive('a payout.failed webhook', (b) => b.withJSONContent({
    id: like('evt_123'), type: 'payout.failed',
    data: { id: like('po_123'), status: 'failed', failure_code: 'account_closed' },
  }))
  .executeTest(async (message) => {
    // The console's webhook handler would take it from here: the body as the sandbox sends it.
    const body = message.contents.content;
    assert.equal(body.type, 'payout.failed');
    assert.equal(body.data.failure_code, 'account_closed');
  }));
