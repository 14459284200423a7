// Starts side by side, and starts that cannot succeed: those fail at once (not after the
// start-up deadline) with the container's own words, and leave no container behind.
// node --test runs this file and walk.test.js at once, each with containers of its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MyPaySandboxContainer, SandboxDidNotStart } from "../dist/index.js";
import { containerIds } from "./engine.js";

const FAILS_WITHIN_MS = 30_000; // far below the 120 s start-up deadline

test("two starts at once get a container and ports each", async () => {
  const both = await Promise.all([new MyPaySandboxContainer().start(), new MyPaySandboxContainer().start()]);
  try {
    assert.notEqual(both[0].getId(), both[1].getId());
    assert.equal(new Set(both.flatMap((s) => [s.getApiUrl(), s.getIpnUrl()])).size, 4);
    const { api_key: key } = await both[0].newMerchant();
    // A sandbox of its own each: the first one's merchant is unknown to the second.
    const elsewhere = await fetch(`${both[1].getApiUrl()}/sandbox/clock`, { headers: { "X-API-KEY": key } });
    assert.equal(elsewhere.status, 401);
  } finally {
    await Promise.all(both.map((s) => s.stop()));
  }
  const left = await containerIds();
  assert.ok(both.every((s) => !left.has(s.getId())), "a container is still there after stop()");
});

test("a bad admin key fails at once, with the container's log", async () => {
  const before = performance.now();
  await assert.rejects(new MyPaySandboxContainer().withAdminKey("too-short").start(), (error) => {
    assert.ok(error instanceof SandboxDidNotStart, String(error));
    assert.match(error.message, /SANDBOX_ADMIN_KEY must be 16 to 200 characters long/); // the sandbox's words
    return true;
  });
  assert.ok(performance.now() - before < FAILS_WITHIN_MS, `took ${performance.now() - before} ms`);
});

test("a last line written in two writes is shown whole", async () => {
  // Podman 4.3 counts a log's `tail` in stored writes: words, then their newline, read back
  // as the newline alone. The module reads the whole log and cuts it itself.
  const twoWrites = new MyPaySandboxContainer().withEntrypoint(["sh", "-c", "printf 'it went wrong'; sleep 0.2; echo; exit 2"]);
  await assert.rejects(twoWrites.start(), (error) => {
    assert.ok(error instanceof SandboxDidNotStart, String(error));
    assert.match(error.message, /--- its log, last lines ---\nit went wrong$/);
    return true;
  });
});

test("a missing image fails at once, naming it", async () => {
  const missing = `localhost/mypay-sandbox:no-such-tag-${Date.now()}`;
  const before = performance.now();
  await assert.rejects(new MyPaySandboxContainer(missing).start(), (error) => {
    assert.ok(error instanceof SandboxDidNotStart, String(error));
    assert.ok(error.message.includes(missing), error.message);
    return true;
  });
  assert.ok(performance.now() - before < FAILS_WITHIN_MS, `took ${performance.now() - before} ms`);
});

test("a setting that would break the port mapping is refused", () => {
  assert.throws(() => new MyPaySandboxContainer().withSetting("api_port", "9000"), /SANDBOX_API_PORT is the image's own/);
});
