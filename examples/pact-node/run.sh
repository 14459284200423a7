#!/usr/bin/env bash
# The consumer's tests record pacts/ with pact-js; then the pacts are verified against a
# running sandbox twice in a row (its approve interaction, with a fixed idempotency key,
# included): with `sandbox pact verify` and with pact-js's own Verifier. Then never-sent/,
# message pacts as loose as can be for an event the scenario never sends, must fail in both
# (in pact-js's, with its message transport and with messageProviders alike).
# Needs `sandbox` on PATH (with its [pact] extra), SANDBOX_URL and SANDBOX_ADMIN_KEY.
set -euo pipefail
cd "$(dirname "$0")"
URL=${SANDBOX_URL:-http://127.0.0.1:${SANDBOX_API_PORT:-8000}}
REPORTS=${REPORTS:-reports}
mkdir -p "$REPORTS"
export PACT_DO_NOT_TRACK=true  # no usage statistics sent from CI

npm ci --no-audit --no-fund --silent
rm -rf pacts
node --test --test-reporter=spec --test-reporter-destination=stdout
sandbox pact verify pacts/ --url "$URL" --junit "$REPORTS/pact-node.xml"
SANDBOX_URL=$URL node verify.js

# A message the sandbox never sends fails, however loose the expectation, in both verifiers.
status=0
sandbox pact verify never-sent/ --url "$URL" >"$REPORTS/never-sent.txt" 2>&1 || status=$?
if [ "$status" -ne 1 ] || ! grep -q "never payout.returned" "$REPORTS/never-sent.txt"; then
    cat "$REPORTS/never-sent.txt" >&2
    echo "sandbox pact verify exited $status on never-sent/, not 1 with the sandbox's words" >&2
    exit 1
fi
if SANDBOX_URL=$URL node verify.js never-sent >"$REPORTS/never-sent-js.txt" 2>&1; then
    cat "$REPORTS/never-sent-js.txt" >&2
    echo "pact-js's Verifier passed never-sent/" >&2
    exit 1
fi
# And with `messageProviders` that ask the sandbox (verify-message-providers.js): failed, in its words.
status=0
SANDBOX_URL=$URL node verify-message-providers.js never-sent/*.json >"$REPORTS/never-sent-providers.txt" 2>&1 \
    || status=$?
if [ "$status" -eq 0 ] || ! grep -q "refused by the sandbox: .*never payout.returned" \
        "$REPORTS/never-sent-providers.txt"; then
    cat "$REPORTS/never-sent-providers.txt" >&2
    echo "pact-js's Verifier with messageProviders exited $status on never-sent/, not 1 with the sandbox's words" >&2
    exit 1
fi
echo "never-sent/: failed in sandbox pact verify and in pact-js's Verifier (message transport and messageProviders alike), as it must"
