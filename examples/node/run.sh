#!/usr/bin/env bash
# The Node suite as a CI job runs it, against a running sandbox (its image as a service, or
# `sandbox up`), over HTTP only: ../job.sh makes a merchant of its own, runs the suite and
# asks the sandbox's verdict. Needs node (18 or later), curl and jq, SANDBOX_URL and
# SANDBOX_ADMIN_KEY; WEBHOOK_HOST when the sandbox reaches this machine by another name
# than 127.0.0.1. Exits 0 when the verdict holds, 1 when a test failed or the verdict fell
# short, 2 when the sandbox could not judge. Its container: Containerfile here.
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --no-audit --no-fund --silent
exec ../job.sh node node --test --test-reporter=spec test/scenarios.test.js
