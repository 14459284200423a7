// pact-js's Verifier with `messageProviders` (for a verification that provides some messages
// from code of its own): each message description in the pacts gets a provider that asks the
// sandbox, and a refusal fails the run in the sandbox's words. pact-js answers a provider that
// throws, and a description missing from the map, with the body {}, which a loose
// expectation matches; so every description has a provider, and a refusal is never thrown.
// `node verify-message-providers.js PACT_FILE...` (message pacts: no providerBaseUrl here).
import { readFileSync } from 'node:fs';
import { Verifier } from '@pact-foundation/pact';

const messages = `${process.env.SANDBOX_URL}/api/v1/sandbox/pact/messages`;
const headers = { 'Content-Type': 'application/json', 'X-Sandbox-Admin-Key': process.env.SANDBOX_ADMIN_KEY };
const pactFiles = process.argv.slice(2);

async function fromSandbox(message) {
  const asked = { description: message.description, providerStates: message.providerStates ?? [] };
  try {
    // "check": true answers a refusal as plain JSON; the message itself is refused undecodable.
    const check = await fetch(messages, { method: 'POST', headers, body: JSON.stringify({ ...asked, check: true }) });
    if (!check.ok) throw new Error((await check.json()).detail);
    return await (await fetch(messages, { method: 'POST', headers, body: JSON.stringify(asked) })).json();
  } catch (refused) {
    // pact-js answers a thrown error with the body {}, which a loose expectation matches: say it,
    // fail the run, and answer a string, which no JSON object expectation matches.
    console.error(`refused by the sandbox: ${message.description}: ${refused.message}`);
    process.exitCode = 1;
    return `refused by the sandbox: ${refused.message}`;
  }
}

// A handler for every description in the pacts: a description missing from the map is
// answered {} by pact-js, which a loose expectation matches too.
const descriptions = pactFiles.flatMap((file) => {
  const pact = JSON.parse(readFileSync(file, 'utf8'));
  return [...(pact.interactions ?? []), ...(pact.messages ?? [])].map((i) => i.description);
});

await new Verifier({
  provider: 'MyPay',
  pactUrls: pactFiles,
  messageProviders: Object.fromEntries(descriptions.map((d) => [d, fromSandbox])),
  logLevel: 'warn',
}).verifyProvider();
