// What the tests ask of the engine itself (not through the module): every container it
// has, running or not, to see that a test leaves none of its own behind.
import { getContainerRuntimeClient } from "testcontainers";

export async function containerIds() {
  const client = await getContainerRuntimeClient();
  return new Set((await client.container.dockerode.listContainers({ all: true })).map((c) => c.Id));
}

// A payout on a bank account whose last four digits pick the scenario.
export async function payout(apiUrl, key, suffix) {
  const response = await fetch(`${apiUrl}/payouts`, {
    method: "POST",
    headers: { "X-API-KEY": key, "X-Idempotency-Key": crypto.randomUUID(), "Content-Type": "application/json" },
    body: JSON.stringify({ amount: "1500.00", currency: "PKR",
      destination: { type: "bank", bank_code: "HBL", account_number: `1234567890${suffix}`, account_title: "Ali Raza" } }),
  });
  return { status: response.status, json: await response.json() };
}
