// examples/node's suite (every scenario, verified webhooks, a safe retry), its sandbox
// started here by the Testcontainers module rather than by a CI `services:` block: a
// container of its own for this run, on free ports, removed at the end; then the same
// verdict examples/job.sh asks, through the module. Nothing to keep in step in the CI
// file: `npm test` is the whole job.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { MyPaySandboxContainer } from "mypay-sandbox-testcontainers";

const sandbox = await new MyPaySandboxContainer().start();
const merchant = await sandbox.newMerchant({ clock: "manual" });

// What examples/job.sh hands the suite, from the started container instead.
Object.assign(process.env, {
  SANDBOX_URL: sandbox.getApiUrl().replace(/\/api\/v1$/, ""),
  SANDBOX_ADMIN_KEY: sandbox.getAdminKey(),
  MYPAY_KEY: merchant.api_key,
  WEBHOOK_HOST: sandbox.hostName, // how the container reaches this machine's receiver
});
await import("../../node/test/scenarios.test.js");
after(() => sandbox.stop()); // after the suite's own `after` (hooks run in the order made)

test("the sandbox's verdict: every scenario covered, retries safe", async () => {
  const verdict = await sandbox.gate(merchant, { require_coverage: "all", require_safe_retries: true });
  assert.ok(verdict.held, JSON.stringify(verdict.merchants[0].requirements, null, 2));
});
