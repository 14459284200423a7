#!/usr/bin/env bash
# The PHP script as a CI job runs it, against a running sandbox (its image as a service, or
# `sandbox up`), over HTTP only: ../job.sh makes a merchant of its own, runs the script and
# asks the sandbox's verdict. Needs php (php-cli), curl and jq, SANDBOX_URL and
# SANDBOX_ADMIN_KEY; WEBHOOK_HOST when the sandbox reaches this machine by another name
# than 127.0.0.1. Exits 0 when the verdict holds, 1 when the script failed or the verdict
# fell short, 2 when the sandbox could not judge. Its container: Containerfile here.
set -euo pipefail
cd "$(dirname "$0")"
exec ../job.sh php php scenarios.php
