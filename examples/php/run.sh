#!/usr/bin/env bash
# A CI job for this script against a running sandbox (`sandbox up`, or its container):
# a merchant of its own on a manual clock, the script, then the gate. Needs `sandbox` and
# `php` (php-cli) on PATH, SANDBOX_URL (or SANDBOX_API_PORT) and SANDBOX_ADMIN_KEY.
set -euo pipefail
cd "$(dirname "$0")"
URL=${SANDBOX_URL:-http://127.0.0.1:${SANDBOX_API_PORT:-8000}}
REPORTS=${REPORTS:-reports}
mkdir -p "$REPORTS"

MERCHANT=$(sandbox merchant new --clock manual --json --url "$URL")
export MYPAY_KEY=$(php -r 'echo json_decode($argv[1], true)["api_key"];' "$MERCHANT")
echo "merchant $(php -r 'echo json_decode($argv[1], true)["id"];' "$MERCHANT")"

SANDBOX_URL=$URL php scenarios.php
sandbox gate --url "$URL" --key "$MYPAY_KEY" --require-coverage all --require-safe-retries \
    --junit "$REPORTS/php-gate.xml"
