// A test suite's life with the module: started, a merchant on a manual clock, a payout
// walked to its end, the verdict held and fell short, then stopped with nothing left.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MyPaySandboxContainer } from "../dist/index.js";
import { containerIds, payout } from "./engine.js";

let sandbox;
before(async () => {
  const started = performance.now();
  sandbox = await new MyPaySandboxContainer().withAdminKey("sk_admin_node_walk_0123456789").start();
  console.log(`start to ready: ${((performance.now() - started) / 1000).toFixed(1)} s`);
});
after(async () => {
  const id = sandbox?.getId();
  await sandbox?.stop();
  if (id) assert.ok(!(await containerIds()).has(id), `container ${id} is still there after stop()`);
});

test("started means every part serves: the API and the IPN answer", async () => {
  assert.equal((await fetch(`${sandbox.getApiUrl()}/ready`)).status, 200);
  assert.equal((await fetch(`${sandbox.getIpnUrl()}/health`)).status, 200);
  assert.equal(sandbox.getAdminKey(), "sk_admin_node_walk_0123456789");
});

test("a payout walked on a manual clock, and the verdict", async () => {
  const merchant = await sandbox.newMerchant({ clock: "manual" });
  assert.equal(merchant.merchant.clock, "manual");
  const made = await payout(sandbox.getApiUrl(), merchant.api_key, "0001");
  assert.equal(made.status, 201, JSON.stringify(made.json));
  assert.equal(made.json.status, "pending");

  const advanced = await sandbox.advanceClock(merchant, { until: "idle" });

  assert.ok(advanced.idle);
  assert.deepEqual(advanced.transitions.map((t) => `${t.from}->${t.to}`), ["pending->processing", "processing->success"]);
  // The merchant as Python's module has it, and the helpers a test reaches for next.
  assert.deepEqual([merchant.id, merchant.key], [merchant.merchant.id, merchant.api_key]);
  assert.deepEqual((await sandbox.payouts(merchant)).map((p) => [p.id, p.status]), [[made.json.id, "success"]]);
  assert.deepEqual((await sandbox.payouts(merchant.key, { status: "failed" })), []);
  const events = await sandbox.events(merchant, made.json.id);
  assert.deepEqual(events.map((e) => `${e.sequence} ${e.type}`),
    ["1 payout.created", "2 payout.processing", "3 payout.success"]);
  const clock = await sandbox.readClock(merchant);
  assert.equal(clock.kind, "manual");
  const made2 = await sandbox.createPayout(merchant, { scenario: "failed_account_closed", reference: "walk-2" });
  assert.deepEqual([made2.status, made2.reference, made2.scenario], ["pending", "walk-2", "failed_account_closed"]);
  const moved = await sandbox.advanceClock(merchant, { seconds: 3600 });
  assert.equal(Date.parse(moved.time) - Date.parse(clock.time), 3_600_000);
  assert.equal((await sandbox.getPayout(merchant, made2.id)).failure_code, "account_closed");
  const held = await sandbox.gate(merchant, { require_coverage: ["success"] });
  assert.equal(held.held, true);
  const short = await sandbox.gate(merchant.api_key, { require_coverage: ["success", "on_hold"] });
  assert.equal(short.held, false);
  assert.deepEqual(short.merchants[0].requirements[0].missing, ["on_hold"]);
});
