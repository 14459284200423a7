// Every scenario of the sandbox, walked by a Node suite the way a CI job runs it, over
// HTTP only: the merchant comes from the environment (MYPAY_KEY, made by ../job.sh), its
// clock is manual (moved with POST /sandbox/clock/advance), webhooks arrive at a receiver
// this suite runs and are verified with the `standardwebhooks` package, and one payout's
// answer is lost on purpose and retried with the same idempotency key.
// node:test and the built-in fetch; no SDK.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import http from "node:http";
import { after, before, test } from "node:test";
import { Webhook } from "standardwebhooks";

const URL = process.env.SANDBOX_URL ?? `http://127.0.0.1:${process.env.SANDBOX_API_PORT ?? 8000}`;
const API = `${URL}/api/v1`;
const KEY = process.env.MYPAY_KEY; // the merchant's API key
const ADMIN_KEY = process.env.SANDBOX_ADMIN_KEY; // an operator releases on_hold payouts
const SKIP = (process.env.SKIP_SCENARIOS ?? "").split(",").filter(Boolean); // to see the verdict fall short
// The name the sandbox reaches this machine (or container) by, for its webhooks.
const WEBHOOK_HOST = process.env.WEBHOOK_HOST ?? "127.0.0.1";

assert.ok(KEY, "MYPAY_KEY: a merchant's key on a manual clock (../job.sh makes one)");
assert.ok(ADMIN_KEY, "SANDBOX_ADMIN_KEY: the admin key the sandbox was started with");

async function call(method, path, body, { key = KEY, idempotencyKey = randomUUID() } = {}) {
  const headers = { "X-API-KEY": key };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-Idempotency-Key"] = idempotencyKey;
  const response = await fetch(API + path, { method, headers, body: body && JSON.stringify(body) });
  return { status: response.status, headers: response.headers, json: await response.json() };
}

async function ok(method, path, body, options) {
  const answer = await call(method, path, body, options);
  assert.ok(answer.status < 300, `${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  return answer.json;
}

async function advanceUntilIdle() {
  const { steps_applied, idle } = await ok("POST", "/sandbox/clock/advance", { until: "idle" });
  console.log(`clock: ${steps_applied} steps applied, idle: ${idle}`);
}

// The receiver: every delivery verified before it is believed; a forgery is answered 400.
const verified = []; // events, in arrival order
const refused = [];
let endpoint;
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    try {
      verified.push(new Webhook(endpoint.secret).verify(Buffer.concat(chunks).toString(), req.headers));
      res.writeHead(204).end();
    } catch (error) {
      refused.push(String(error));
      res.writeHead(400).end();
    }
  });
});

async function webhook(type, payoutId, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = verified.find((e) => e.type === type && e.data?.id === payoutId);
    if (found) return found;
    assert.ok(Date.now() < deadline, `no verified ${type} webhook for ${payoutId}; got ${verified.map((e) => e.type)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function payout(suffix, idempotencyKey) {
  return call("POST", "/payouts", {
    amount: "1500.00", currency: "PKR",
    destination: { type: "bank", bank_code: "HBL", account_number: `1234567890${suffix}`, account_title: "Ali Raza" },
  }, { idempotencyKey });
}

before(async () => {
  await new Promise((r) => receiver.listen(0, "0.0.0.0", r));
  endpoint = await ok("POST", "/webhook-endpoints",
    { url: `http://${WEBHOOK_HOST}:${receiver.address().port}/webhooks`, events: ["*"], signing: "hmac-sha256" });
});

after(async () => {
  if (endpoint) await call("DELETE", `/webhook-endpoints/${endpoint.id}`);
  receiver.close();
  assert.deepEqual(refused, [], "deliveries that failed verification");
});

test("every scenario reaches its end, with a verified webhook", async () => {
  const { scenarios } = await ok("GET", "/sandbox/scenarios");
  const walked = [];
  for (const s of scenarios.filter((s) => !SKIP.includes(s.name))) {
    const { status, json } = await payout(s.suffix);
    assert.equal(status, 201, JSON.stringify(json));
    assert.equal(json.scenario, s.name);
    walked.push({ scenario: s, id: json.id });
  }
  await advanceUntilIdle(); // every step the scenarios schedule, at once and in order
  for (const { scenario, id } of walked) {
    const resting = (await ok("GET", `/payouts/${id}`)).status;
    if (resting === "pending" && scenario.path.at(-1) === "pending") {
      // Submitted, waiting for the bank: the rail's callback says how it went.
      await ok("POST", `/sandbox/payouts/${id}/simulate`, { status: "success" });
    } else if (resting === "on_hold") {
      await ok("POST", `/admin/payouts/${id}/release`, {}, { key: ADMIN_KEY }); // an operator's act
    }
  }
  await advanceUntilIdle();
  for (const { scenario, id } of walked) {
    const end = scenario.after_release?.length ? scenario.after_release.at(-1).status
      : scenario.path.at(-1) === "pending" ? "success" : scenario.path.at(-1);
    const event = await webhook(`payout.${end}`, id); // the IPN's callback arrives in real time
    assert.equal(event.data.status, end, `${scenario.name}: ${id}`);
  }
});

test("a payout whose answer was lost is retried with the same idempotency key, and paid once", async () => {
  await ok("POST", "/sandbox/faults", { fault: "response_lost", method: "POST", path: "/payouts", times: 1 });
  const idempotencyKey = randomUUID();
  await assert.rejects(payout("0001", idempotencyKey), TypeError); // fetch failed: no answer came
  const retried = await payout("0001", idempotencyKey);
  assert.equal(retried.status, 201);
  assert.equal(retried.headers.get("idempotent-replayed"), "true"); // the payout made the first time
});
