// The provider side with pact-js's own Verifier: the pacts in pacts/ replayed against a
// running MyPay Sandbox (SANDBOX_URL), its provider-state and message routes named, and
// the admin key sent as X-Sandbox-Admin-Key (a custom header reaches every request the
// verifier makes; X-API-KEY would replace the merchant key each pact injects). The state
// URL, not pact-js's `stateHandlers`: a state handler's failure is only a warning to
// pact-js, and the interaction would pass. `node verify.js FOLDER` verifies another folder.
import path from 'node:path';
import { Verifier } from '@pact-foundation/pact';

const sandbox = new URL(process.env.SANDBOX_URL || 'http://127.0.0.1:8000');
await new Verifier({
  provider: 'MyPay',
  providerBaseUrl: sandbox.origin,
  pactUrls: [path.resolve(import.meta.dirname, process.argv[2] || 'pacts')],
  providerStatesSetupUrl: `${sandbox.origin}/api/v1/sandbox/pact/states`,
  providerStatesSetupTeardown: true,
  customProviderHeaders: { 'X-Sandbox-Admin-Key': process.env.SANDBOX_ADMIN_KEY },
  transports: [{
    protocol: 'message', scheme: sandbox.protocol.replace(':', ''),
    port: Number(sandbox.port || 80), path: '/api/v1/sandbox/pact/messages',
  }],
  logLevel: 'warn',
}).verifyProvider();
console.log('pact-js Verifier: every interaction verified');
