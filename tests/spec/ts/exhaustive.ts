// Compiled with `tsc --strict --noEmit` against types generated from openapi/openapi.json
// (`openapi-typescript openapi.json -o schema.d.ts`): it stops compiling when a closed set
// in the spec stops being an enum, when a status or a failure code is added without a case
// here, or when
// an event's `data.status` is no longer tied to its `type`.
import createClient from "openapi-fetch";
import { Webhook } from "standardwebhooks";
import type { components, operations, paths } from "./schema";

type Payout = components["schemas"]["Payout"];
type WebhookEvent = components["schemas"]["WebhookEvent"];
type Problem = components["schemas"]["Problem"];

function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}

export function describeStatus(status: Payout["status"]): string {
  switch (status) {
    case "in_review": return "waiting for an admin";
    case "pending": return "accepted";
    case "processing": return "at the bank";
    case "retrying": return "the bank asked to retry";
    case "on_hold": return "held for compliance";
    case "success": return "paid";
    case "failed": return "failed";
    case "rejected": return "rejected by an admin";
    case "cancelled": return "cancelled";
    case "returned": return "paid, then returned";
    default: return assertNever(status);
  }
}

export function nextStep(code: NonNullable<Payout["failure_code"]>): string {
  // Every failure and return reason the sandbox publishes: a new one fails compilation here.
  switch (code) {
    case "account_closed": return "close the beneficiary's record";
    case "invalid_account": return "ask for the account details again";
    case "rail_rejected": return "try again later";
    case "rail_timeout": return "try again later";
    case "account_frozen": return "ask the beneficiary to unblock the account";
    case "account_dormant": return "ask the beneficiary to reactivate the account";
    case "bank_account_restricted": return "ask for another account";
    case "bank_ownership_changed": return "ask for the new account details";
    case "could_not_process": return "try again later";
    case "debit_not_authorized": return "ask for another account";
    case "declined": return "ask the beneficiary to call their bank";
    case "incorrect_account_holder_name": return "correct the beneficiary's name";
    case "insufficient_funds": return "try again later";
    case "invalid_account_number": return "ask for the account number again";
    case "invalid_currency": return "ask for a PKR account";
    case "no_account": return "ask for the account details again";
    case "beneficiary_deceased": return "stop paying this beneficiary";
    case "duplicate_payout": return "check whether the beneficiary was paid already";
    case "recalled": return "check why the payout was recalled";
    case "rail_returned": return "confirm the account with the beneficiary, then pay again";
    default: return assertNever(code);
  }
}

export function describeFailure(payout: Payout): string {
  if (payout.failure === null) return "no failure";
  const code: NonNullable<Payout["failure_code"]> = payout.failure.code;
  const retry: boolean = payout.failure.retryable;
  return `${code} (${payout.failure.iso_reason}${retry ? ", retryable" : ""}): ${nextStep(code)}`;
}

export function describeDestination(destination: Payout["destination"]): string {
  switch (destination.type) {
    case "bank": return "iban" in destination ? destination.iban : `${destination.bank_code} ${destination.account_number}`;
    case "wallet": return `${destination.wallet_code} ${destination.account_number}`;
    case "raast": return `${destination.alias} (${destination.bank_code})`;
    default: return assertNever(destination);
  }
}

export function handle(event: WebhookEvent): string {
  switch (event.type) {
    case "payout.created": {
      const initial: "pending" | "in_review" = event.data.status;
      return initial;
    }
    case "payout.success": {
      const paid: "success" = event.data.status;
      return `${event.data.id} ${paid} ${describeStatus(event.data.status)}`;
    }
    case "payout.failed": {
      const failed: "failed" = event.data.status;
      return `${failed}: ${event.data.failure_code ?? "no code"}`;
    }
    case "payout.in_review":
    case "payout.pending":
    case "payout.processing":
    case "payout.retrying":
    case "payout.on_hold":
    case "payout.rejected":
    case "payout.cancelled":
    case "payout.returned": {
      // Narrowed to this event's own status: the type's suffix.
      const status: typeof event.type extends `payout.${infer S}` ? S : never = event.data.status;
      return status;
    }
    case "batch.completed": return event.data.status;
    case "settlement.completed": return event.data.id;
    default: return assertNever(event);
  }
}

export function newer(held: WebhookEvent, arrived: WebhookEvent): WebhookEvent {
  // Webhooks arrive in any order: `sequence` (a number on every event) says which is newer.
  const place: number = arrived.sequence;
  return place > held.sequence ? arrived : held;
}

// A clock advance's transitions are between payout statuses: the switch above covers them.
type ClockTransition = components["schemas"]["ClockTransition"];
export function describeTransition(move: ClockTransition): string {
  return `${move.payout_id}: ${describeStatus(move.from)} → ${describeStatus(move.to)}`;
}

// GET /events: each event's data is typed by its type, as its webhook's is.
type ListedEvent = components["schemas"]["Event"];
export function describeListed(event: ListedEvent): string {
  switch (event.type) {
    case "payout.created": {
      const initial: "pending" | "in_review" = event.data.status;
      return `${event.created_at} ${initial}`;
    }
    case "payout.in_review":
    case "payout.pending":
    case "payout.processing":
    case "payout.retrying":
    case "payout.on_hold":
    case "payout.success":
    case "payout.failed":
    case "payout.rejected":
    case "payout.cancelled":
    case "payout.returned": {
      const status: typeof event.type extends `payout.${infer S}` ? S : never = event.data.status;
      return `${event.created_at} ${describeStatus(status)}`;
    }
    case "batch.completed": return `${event.data.id} ${event.data.status}`;
    case "settlement.completed": return event.data.id;
    default: return assertNever(event);
  }
}

export function problemCode(problem: Problem): Problem["code"] {
  // A closed set today; new codes may come: never assume a switch over it is exhaustive at run time.
  return problem.code;
}

export async function createAndVerify(baseUrl: string, apiKey: string, secret: string) {
  const client = createClient<paths>({ baseUrl, headers: { "X-API-KEY": apiKey } });
  const { data, error } = await client.POST("/api/v1/payouts", {
    params: { header: { "X-Idempotency-Key": "ts-1" } },
    body: { amount: "1500.00", destination: { type: "bank", bank_code: "HBL", account_number: "12345678900001" } },
  });
  if (error) return error.code;
  const payout: Payout = data;
  const verified = new Webhook(secret).verify("{}", {}) as WebhookEvent;
  return `${describeStatus(payout.status)} ${handle(verified)}`;
}

// By operationId, as generators that name methods after it (createScenario, listScenarios) see them.
type ScenarioCreate = operations["createScenario"]["requestBody"]["content"]["application/json"];
type ScenarioTable = operations["listScenarios"]["responses"][200]["content"]["application/json"];
type StepIn = ScenarioCreate["steps"][number];

// A step's failure_code is Payout's closed set, neither wider nor narrower: a code one of
// them gains alone, or a step's becoming a plain string, fails compilation here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const stepCodesArePayoutCodes: Same<NonNullable<StepIn["failure_code"]>,
  NonNullable<Payout["failure_code"]>> = true;

export function describeStep(step: StepIn): string {
  // The switch written for payouts covers a step's codes too.
  return step.failure_code ? `${step.status}: ${nextStep(step.failure_code)}` : step.status;
}

export function stepFor(status: StepIn["status"], after_s: number): StepIn {
  // Every status a scenario's step may enter: a new one fails compilation here.
  switch (status) {
    case "pending": return { status, after_s, submit: true };
    case "processing": return { status, after_s, submit: true };
    case "retrying": return { status, after_s, reason: "rail_timeout" };
    case "on_hold": return { status, after_s };
    case "success": return { status, after_s };
    case "failed": return { status, after_s, failure_code: "account_frozen" };
    case "returned": return { status, after_s, via: "ipn", failure_code: "incorrect_account_holder_name" };
    default: return assertNever(status);
  }
}

export async function makeScenario(baseUrl: string, apiKey: string) {
  // A merchant's own scenario through the typed client; a payout then names it.
  const client = createClient<paths>({ baseUrl, headers: { "X-API-KEY": apiKey } });
  const body: ScenarioCreate = {
    name: "returned_two_days_later", title: "Paid, returned two days later", suffix: "7001",
    steps: [stepFor("processing", 1), stepFor("success", 2), stepFor("returned", 172800)],
  };
  const made = await client.POST("/api/v1/sandbox/scenarios", {
    params: { header: { "X-Idempotency-Key": "ts-2" } }, body,
  });
  if (made.error) {
    // The two refusals this route adds are in the published set of problem codes (a code
    // missing from it would make these comparisons fail compilation).
    if (made.error.code === "impossible_timeline") return `refused: ${made.error.detail}`;
    if (made.error.code === "scenario_taken") return `${body.name} exists already`;
    return made.error.code;
  }
  const path: string[] = made.data.path;
  const listed = await client.GET("/api/v1/sandbox/scenarios");
  const table: ScenarioTable | undefined = listed.data;
  const mine = (table?.scenarios ?? []).filter((s) => s.custom).map((s) => s.name);
  const paid = await client.POST("/api/v1/payouts", {
    params: { header: { "X-Idempotency-Key": "ts-3" } },
    body: { amount: "10.00", scenario: body.name,
            destination: { type: "bank", bank_code: "HBL", account_number: "12345678900001" } },
  });
  // A payout's scenario is a string (a merchant adds its own), not a closed set.
  const scenario: string | undefined = paid.data?.scenario;
  return `${path.join(" → ")} ${mine.join(",")} ${scenario}`;
}
