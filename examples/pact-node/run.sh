#!/usr/bin/env bash
# The consumer's tests record pacts/ with pact-js; then the pacts are verified against a
# running sandbox twice: with `sandbox pact verify` and with pact-js's own Verifier.
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
