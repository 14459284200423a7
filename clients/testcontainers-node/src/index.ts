// MyPay Sandbox as a Testcontainers module for Node: the sandbox's image on the
// `testcontainers` package's own GenericContainer and HTTP wait strategy, started when
// /api/v1/ready answers 200 (API, IPN and worker all serve), with the calls a test makes
// next, typed by the sandbox's OpenAPI spec (src/openapi.ts, made by openapi-typescript).
import { randomBytes, randomUUID } from "node:crypto";
import {
  AbstractStartedContainer,
  GenericContainer,
  getContainerRuntimeClient,
  type StartedTestContainer,
  Wait,
} from "testcontainers";
import type { Container } from "dockerode";
import type { components } from "./openapi.js";

type Schemas = components["schemas"];
/** The API's answer to POST /sandbox/merchants: `merchant` ({id, name, clock}) and `api_key`. */
export type NewMerchant = Schemas["NewMerchantOut"];
/** A merchant as newMerchant() gives it: `id` and `key` (as the Python module's merchant has
 * them), with the API's own answer beside them (`merchant.id`, `merchant.clock`, `api_key`). */
export type Merchant = NewMerchant & { id: string; key: string };
export type Payout = Schemas["Payout"];
export type PayoutCreate = Schemas["PayoutCreate"];
export type SandboxEvent = Schemas["Event"];
export type MerchantClock = Schemas["MerchantClock"];
export type ClockAdvance = Schemas["ClockAdvance"];
export type ClockAdvanced = Schemas["ClockAdvanced"];
export type GateRequest = Schemas["GateRequest"];
export type GateVerdict = Schemas["GateVerdict"];
export type WebhookAudit = Schemas["WebhookAudit"];
export type Problem = Schemas["Problem"];
export type { components };

// The name `docker build -t mypay-sandbox .` gives, a local build's (no registry has it);
// MYPAY_SANDBOX_IMAGE or the constructor's argument name another, such as a release's
// ghcr.io/mypay/mypay-sandbox:VERSION (its README says so before its first example).
export const DEFAULT_IMAGE = "mypay-sandbox:latest";
export const API_PORT = 8000;
export const IPN_PORT = 8001;
const READY_PATH = "/api/v1/ready";
const STARTUP_TIMEOUT_MS = 120_000; // a cold image on a loaded CI machine; ready in seconds here
const LOG_TAIL_LINES = 60;
const LOG_SETTLE_MS = 3_000;
const NOTHING = "(the container wrote nothing)";
// Settings that are the image's own in a container: its ports are mapped, not chosen.
const FIXED = new Set(["SANDBOX_API_PORT", "SANDBOX_IPN_PORT", "SANDBOX_HOST", "SANDBOX_DATA_DIR"]);
// How the container reaches the machine that started it (a test's webhook receiver):
// Podman names it in every container's /etc/hosts; Docker Engine needs it asked for.
const PODMAN_HOST_NAME = "host.containers.internal";
const DOCKER_HOST_NAME = "host.docker.internal";

/** A start that cannot succeed: the container exited, its image is missing, or the
 * deadline passed. The message holds the container's last log lines when it wrote any. */
export class SandboxDidNotStart extends Error {
  override name = "SandboxDidNotStart";
}

/** The API answered something other than what the call expects (a refusal's problem). */
export class SandboxRefused extends Error {
  override name = "SandboxRefused";
  constructor(readonly asked: string, readonly status: number, readonly body: unknown) {
    const problem = body as Partial<Problem> | undefined;
    const said = problem?.title ? `${problem.title}${problem.detail ? `: ${problem.detail}` : ""} (code ${problem.code})`
      : JSON.stringify(body);
    super(`${asked} answered ${status}: ${said}`);
  }
}

export class MyPaySandboxContainer extends GenericContainer {
  private adminKey = `sk_admin_tc_${randomBytes(16).toString("hex")}`;
  private timeScale = 0;
  private containerId?: string;

  constructor(image: string = process.env.MYPAY_SANDBOX_IMAGE || DEFAULT_IMAGE) {
    super(image);
    // Both ports: Podman lists every port the image exposes among the bindings, so a
    // start that maps only one waits for the other until it times out.
    const ready = Wait.forHttp(READY_PATH, API_PORT, { abortOnContainerExit: true }).forStatusCode(200);
    // The library's own handler of an exited container reads its log as a stream and waits
    // for the stream's end, which Podman's API never sends (seen with Podman 4.3): the
    // start would hang. This one reads the log in one answer and fails with it.
    Object.assign(ready, { handleContainerExit: exitedWhileStarting });
    this.withExposedPorts(API_PORT, IPN_PORT).withWaitStrategy(ready).withStartupTimeout(STARTUP_TIMEOUT_MS);
  }

  /** The admin key the sandbox starts with (16 to 200 characters); a random one otherwise. */
  withAdminKey(key: string): this {
    this.adminKey = key;
    return this;
  }

  /** Simulated seconds per real second: 0 (the default) makes every delay instant. */
  withTimeScale(scale: number): this {
    this.timeScale = scale;
    return this;
  }

  /** Any SANDBOX_* setting, by full name or without the prefix (`rail_secret`). */
  withSetting(name: string, value: string): this {
    const full = name.startsWith("SANDBOX_") ? name : `SANDBOX_${name.toUpperCase()}`;
    if (FIXED.has(full)) throw new Error(`${full} is the image's own in a container (ports are mapped: getApiUrl())`);
    return this.withEnvironment({ [full]: value });
  }

  protected override async containerCreated(containerId: string): Promise<void> {
    this.containerId = containerId;
  }

  override async start(): Promise<StartedMyPaySandboxContainer> {
    this.withEnvironment({ SANDBOX_ADMIN_KEY: this.adminKey, SANDBOX_TIME_SCALE: String(this.timeScale) });
    const client = await getContainerRuntimeClient();
    const version = (await client.container.dockerode.version()) as { Components?: { Name?: string }[] };
    const podman = (version.Components ?? []).some((c) => /podman/i.test(c.Name ?? ""));
    if (!podman) this.withExtraHosts([{ host: DOCKER_HOST_NAME, ipAddress: "host-gateway" }]);
    try {
      const started = await super.start();
      return new StartedMyPaySandboxContainer(started, this.adminKey, podman ? PODMAN_HOST_NAME : DOCKER_HOST_NAME);
    } catch (error) {
      throw await this.didNotStart(error);
    }
  }

  /** Why the start failed, with the container's log; the container removed (the
   * library removes one that failed its wait, not one that exited before its ports showed). */
  private async didNotStart(error: unknown): Promise<SandboxDidNotStart> {
    const why = error instanceof Error ? error.message : String(error);
    const image = this.imageName.string;
    if (this.containerId === undefined) {
      return new SandboxDidNotStart(`${image} did not start: ${why}. No container was made: is the image built ` +
        "(`docker build -t mypay-sandbox .` in the repository) or named (MYPAY_SANDBOX_IMAGE)?", { cause: error });
    }
    const container = (await getContainerRuntimeClient()).container.getById(this.containerId);
    const tail = await logTail(container); // none when the library removed it after its wait failed
    await container.remove({ force: true, v: true }).catch(() => undefined);
    const logged = tail === undefined || why.includes(tail) ? "" : `\n--- its log, last lines ---\n${tail}`;
    return new SandboxDidNotStart(`${image} did not start: ${why}${logged}`, { cause: error });
  }
}

async function exitedWhileStarting(container: { id: string }): Promise<never> {
  const exited = (await getContainerRuntimeClient()).container.getById(container.id);
  // The engine may report the exit a moment before the last words reach its log.
  const deadline = Date.now() + LOG_SETTLE_MS;
  let tail = await logTail(exited);
  while (tail === NOTHING && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    tail = await logTail(exited);
  }
  throw new Error(`the container stopped before ${READY_PATH} answered 200\n--- its log, last lines ---\n${tail}`);
}

/** The container's last lines of output, read in one answer; undefined when it is gone.
 * The whole log is read and cut here: Podman 4.3 counts `tail` in the writes its log stored,
 * so a line written in two (its words, then its newline) came back as the newline alone. */
async function logTail(container: Container): Promise<string | undefined> {
  try {
    const log = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    return demultiplex(log).trimEnd().split("\n").slice(-LOG_TAIL_LINES).join("\n") || NOTHING;
  } catch {
    return undefined;
  }
}

/** Docker's log stream frames each chunk with an 8-byte header (stream, size) unless the
 * container has a TTY; the text without them. */
function demultiplex(log: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= log.length && log[at] <= 2 && log.readUInt32BE(at + 4) <= log.length - at - 8) {
    const size = log.readUInt32BE(at + 4);
    parts.push(log.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return at === log.length ? Buffer.concat(parts).toString() : log.toString();
}

type Merchantish = Merchant | NewMerchant | string; // a merchant as newMerchant() gave it, or its key
// A bank account number; the payout's `scenario` field picks what happens, whatever its suffix.
const ACCOUNT_NUMBER = "12345678900001";
const PAGE_LIMIT = 100;
const MOST_PAGES = 100; // a payout has a handful of events; a merchant's list is read at most this far

export class StartedMyPaySandboxContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, private readonly adminKey: string,
              /** How this container reaches the machine that started it (for webhook URLs). */
              readonly hostName: string) {
    super(started);
  }

  /** The API's root, e.g. http://localhost:32771/api/v1. */
  getApiUrl(): string {
    return `http://${this.getHost()}:${this.getMappedPort(API_PORT)}/api/v1`;
  }

  /** The IPN service's root (the rail's callbacks), e.g. http://localhost:32772. */
  getIpnUrl(): string {
    return `http://${this.getHost()}:${this.getMappedPort(IPN_PORT)}`;
  }

  getAdminKey(): string {
    return this.adminKey;
  }

  /** A fresh merchant, on a manual clock unless `clock: "live"`: `api_key` is its key. */
  async newMerchant({ clock = "manual", openingBalance = "1000000.00" }:
    { clock?: "manual" | "live"; openingBalance?: string } = {}): Promise<Merchant> {
    const body: Schemas["MerchantIn"] = { name: `testcontainers ${randomUUID().slice(0, 8)}`,
      opening_balance: openingBalance, clock };
    const made = await this.call<NewMerchant>("POST", "/sandbox/merchants", this.adminKey, body, 201);
    return { ...made, id: made.merchant.id, key: made.api_key };
  }

  /** A payout of `amount` (default "1500.00") to a bank account, following `scenario` (default
   * "success"; a built-in one or the merchant's own, GET /sandbox/scenarios). Other fields of
   * POST /payouts (`reference`, `metadata`, a `destination` of your own) go in `fields`. */
  async createPayout(merchant: Merchantish, { scenario = "success", amount = "1500.00", ...fields }:
    Partial<PayoutCreate> = {}): Promise<Payout> {
    const body: PayoutCreate = { amount, currency: "PKR", scenario,
      destination: { type: "bank", bank_code: "HBL", account_number: ACCOUNT_NUMBER, account_title: "Ali Raza" },
      ...fields };
    return this.call<Payout>("POST", "/payouts", keyOf(merchant), body, 201);
  }

  /** One payout as GET /payouts/{id} answers it (`status`, `status_history`, `failure`, …). */
  async getPayout(merchant: Merchantish, payoutId: string): Promise<Payout> {
    return this.call<Payout>("GET", `/payouts/${encodeURIComponent(payoutId)}`, keyOf(merchant), undefined, 200);
  }

  /** The merchant's payouts, newest first, every page (`status` filters them). */
  async payouts(merchant: Merchantish, { status }: { status?: Payout["status"] } = {}): Promise<Payout[]> {
    return this.pages<Payout>("/payouts", keyOf(merchant), status === undefined ? {} : { status });
  }

  /** A payout's events in the order the payout moved: by `sequence`, 1, 2, 3 … (webhooks may
   * arrive in any order; this is the order they mean). */
  async events(merchant: Merchantish, payoutId: string): Promise<SandboxEvent[]> {
    const events = await this.pages<SandboxEvent>("/events", keyOf(merchant), { payout_id: payoutId });
    return events.sort((a, b) => sequenceOf(a) - sequenceOf(b));
  }

  /** The merchant's clock: `kind` ("manual" or "live"), its `time`, and `next_step_at`. */
  async readClock(merchant: Merchantish): Promise<MerchantClock> {
    return this.call<MerchantClock>("GET", "/sandbox/clock", keyOf(merchant), undefined, 200);
  }

  /** Move a merchant's manual clock: `{ seconds: 300 }` forward five minutes, or
   * `{ until: "idle" }` until nothing more is due; answers once every step that fell due is
   * applied, with the clock's new `time` and the `transitions` (`from`, `to`) in order. */
  async advanceClock(merchant: Merchantish, advance: ClockAdvance): Promise<ClockAdvanced> {
    return this.call<ClockAdvanced>("POST", "/sandbox/clock/advance", keyOf(merchant), advance, 200);
  }

  /** The sandbox's verdict on a merchant (what `sandbox gate` asks): `held` is true only
   * when every requirement asked held. A refusal throws SandboxRefused: never a pass. */
  async gate(merchant: Merchantish, request: GateRequest): Promise<GateVerdict> {
    const verdict = await this.call<GateVerdict>("POST", "/sandbox/gate", keyOf(merchant), request, 200);
    const asked = [request.require_coverage && "coverage", request.require_safe_retries && "safe_retries",
      request.audit_endpoint && "receiver_audit"].filter(Boolean).sort();
    const judged = verdict.merchants.length === 1 ? verdict.merchants[0].requirements.map((r) => r.name).sort() : [];
    if (JSON.stringify(judged) !== JSON.stringify(asked)
        || verdict.held !== verdict.merchants.every((m) => m.held && m.requirements.every((r) => r.held))) {
      throw new SandboxRefused("POST /api/v1/sandbox/gate", 200, verdict); // a verdict that does not add up
    }
    return verdict;
  }

  /** The receiver audit of your webhook receiver at `url` (a URL this container reaches:
   * this machine is `hostName` from inside it), for a throwaway merchant; `useSecret`
   * gets the endpoint's signing secret before the audit runs. */
  async auditReceiver(url: string, useSecret: (secret: string) => unknown = () => undefined,
                      signing: "hmac-sha256" | "ed25519" = "hmac-sha256"): Promise<WebhookAudit> {
    const { api_key: key } = await this.newMerchant({ clock: "live" });
    const endpoint = await this.call<Schemas["WebhookEndpointWithSecret"]>("POST", "/webhook-endpoints", key,
      { url, signing, description: "receiver audit" }, 201);
    try {
      await useSecret(endpoint.secret ?? endpoint.public_key ?? "");
      return await this.call<WebhookAudit>("POST", `/webhook-endpoints/${endpoint.id}/audit`, key, undefined, 200);
    } finally {
      await fetch(`${this.getApiUrl()}/webhook-endpoints/${endpoint.id}`,
        { method: "DELETE", headers: { "X-API-KEY": key, "X-Idempotency-Key": randomUUID() } });
    }
  }

  /** Every page of a list (`data`, `has_more`, `next_cursor`), at most MOST_PAGES of them. */
  private async pages<T>(path: string, key: string, query: Record<string, string>): Promise<T[]> {
    const found: T[] = [];
    let cursor: string | null | undefined;
    for (let page = 0; page < MOST_PAGES; page++) {
      const params = new URLSearchParams({ ...query, limit: String(PAGE_LIMIT), ...(cursor ? { cursor } : {}) });
      const answer = await this.call<{ data: T[]; has_more: boolean; next_cursor?: string | null }>(
        "GET", `${path}?${params}`, key, undefined, 200);
      found.push(...answer.data);
      if (!answer.has_more || !answer.next_cursor) return found;
      cursor = answer.next_cursor;
    }
    throw new Error(`GET /api/v1${path} has more than ${MOST_PAGES * PAGE_LIMIT} entries: ask the API with filters`);
  }

  private async call<T>(method: string, path: string, key: string, body: unknown, expected: number): Promise<T> {
    const headers: Record<string, string> = { "X-API-KEY": key, "X-Idempotency-Key": randomUUID() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(this.getApiUrl() + path,
      { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON: shown as it came */ }
    if (response.status !== expected) throw new SandboxRefused(`${method} /api/v1${path}`, response.status, parsed);
    return parsed as T;
  }
}

function keyOf(merchant: Merchantish): string {
  return typeof merchant === "string" ? merchant : merchant.api_key;
}

function sequenceOf(event: SandboxEvent): number {
  const sequence = (event as { sequence?: number | null }).sequence;
  return typeof sequence === "number" ? sequence : Number.MAX_SAFE_INTEGER; // one without (a batch's) last
}
