#!/usr/bin/env bash
# The consumer's tests record pacts/ with pact-python, then `sandbox pact verify` replays
# them against a running sandbox. Needs python with pytest, httpx and pact-python (the
# sandbox's [pact] extra brings pact-python), `sandbox` on PATH, SANDBOX_URL and
# SANDBOX_ADMIN_KEY.
set -euo pipefail
cd "$(dirname "$0")"
URL=${SANDBOX_URL:-http://127.0.0.1:${SANDBOX_API_PORT:-8000}}
REPORTS=${REPORTS:-reports}
mkdir -p "$REPORTS"
export PACT_DO_NOT_TRACK=true  # no usage statistics sent from CI

rm -rf pacts
python -m pytest -q test_consumer.py
sandbox pact verify pacts/ --url "$URL" --junit "$REPORTS/pact-python.xml"
