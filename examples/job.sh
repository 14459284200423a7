#!/usr/bin/env bash
# A CI job around a test suite in any language, over HTTP only (curl and jq: no Python,
# no sandbox CLI):
#   1. a merchant of its own on a manual clock (POST /api/v1/sandbox/merchants, admin key),
#      its key given to the suite as MYPAY_KEY;
#   2. the suite (the command given), which moves that clock itself
#      (POST /api/v1/sandbox/clock/advance) and receives its webhooks;
#   3. the sandbox's verdict on what the suite exercised (POST /api/v1/sandbox/gate): every
#      scenario covered, retries safe. Its JUnit is kept as $REPORTS/<name>-verdict.xml.
#
#   job.sh NAME COMMAND...        e.g. job.sh node node --test
#
# Needs SANDBOX_URL (default http://127.0.0.1:8000) and SANDBOX_ADMIN_KEY (the one the
# sandbox was started with). Exits 0 when the verdict holds, 1 when the suite failed or
# the verdict fell short, 2 when the sandbox could not judge.
set -euo pipefail
name=$1
shift
URL=${SANDBOX_URL:-http://127.0.0.1:8000}
API=$URL/api/v1
REPORTS=${REPORTS:-reports}
mkdir -p "$REPORTS"
if [ -z "${SANDBOX_ADMIN_KEY:-}" ]; then
    echo "SANDBOX_ADMIN_KEY: the admin key the sandbox was started with" >&2
    exit 2
fi

made=$(curl -sS --fail-with-body --max-time 30 -X POST "$API/sandbox/merchants" \
    -H "X-API-KEY: $SANDBOX_ADMIN_KEY" -H "X-Idempotency-Key: job-$name-$(date +%s)-$$-$RANDOM" \
    -H 'Content-Type: application/json' \
    -d "{\"name\": \"CI job ($name)\", \"opening_balance\": \"1000000.00\", \"clock\": \"manual\"}") || {
    echo "could not make a merchant at $API: ${made:-no answer}" >&2
    exit 2
}
MYPAY_KEY=$(jq -er .api_key <<<"$made") || { echo "no api_key in the sandbox's answer: $made" >&2; exit 2; }
export MYPAY_KEY SANDBOX_URL=$URL
echo "merchant $(jq -r .merchant.id <<<"$made"), clock manual"

"$@" || { echo "$name: the suite failed" >&2; exit 1; }

# The verdict, asked twice of the same judge: in words for this log, as JUnit for the CI's
# test report; its Sandbox-Gate-Held header decides.
judge() {  # judge ACCEPT OUT: the HTTP status; the answer in OUT, its headers in OUT.headers
    curl -sS --max-time 60 -o "$2" -D "$2.headers" -w '%{http_code}' -X POST "$API/sandbox/gate" \
        -H "X-API-KEY: $MYPAY_KEY" -H "Accept: $1" -H 'Content-Type: application/json' \
        -d '{"require_coverage": "all", "require_safe_retries": true}' || echo 000
}
words=$REPORTS/$name-verdict.json
junit=$REPORTS/$name-verdict.xml
status=$(judge application/json "$words")
if [ "$status" = 200 ]; then
    jq -r '.merchants[] | .merchant_id as $m | .requirements[]
           | "\(if .held then "held       " else "FELL SHORT " end) \($m) \(.name): \(.reason)"' "$words" || true
    status=$(judge application/xml "$junit")
fi
held=""
[ ! -f "$junit.headers" ] \
    || held=$(tr -d '\r' <"$junit.headers" | awk -F': *' 'tolower($1) == "sandbox-gate-held" { print $2; exit }')
case "$status $held" in
    "200 true") echo "$name: the verdict held (JUnit: $junit)" ;;
    "200 false") echo "$name: the verdict fell short (JUnit: $junit)" >&2; exit 1 ;;
    *)
        echo "$name: the sandbox could not judge (HTTP $status):" >&2
        cat "$words" >&2 2>/dev/null || true
        echo >&2
        exit 2
        ;;
esac
