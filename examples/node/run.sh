#!/usr/bin/env bash
# A CI job for this suite against a running sandbox (`sandbox up`, or its container):
# a merchant of its own on a manual clock, the tests, then the gate. Needs `sandbox`
# on PATH, SANDBOX_URL (or SANDBOX_API_PORT) and SANDBOX_ADMIN_KEY. Exits non-zero when
# a test fails, 1 when the gate finds a requirement unmet, 2 when it cannot judge.
set -euo pipefail
cd "$(dirname "$0")"
URL=${SANDBOX_URL:-http://127.0.0.1:${SANDBOX_API_PORT:-8000}}
REPORTS=${REPORTS:-reports}
mkdir -p "$REPORTS"

MERCHANT=$(sandbox merchant new --clock manual --json --url "$URL")
export MYPAY_KEY=$(node -p 'JSON.parse(process.argv[1]).api_key' "$MERCHANT")
echo "merchant $(node -p 'JSON.parse(process.argv[1]).id' "$MERCHANT")"

npm ci --no-audit --no-fund --silent
SANDBOX_URL=$URL node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=junit --test-reporter-destination="$REPORTS/node-tests.xml"
sandbox gate --url "$URL" --key "$MYPAY_KEY" --require-coverage all --require-safe-retries \
    --junit "$REPORTS/node-gate.xml"
