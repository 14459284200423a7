"""JSON logs with request, merchant and payout ids; /metrics in Prometheus format with
numbers read back from PostgreSQL and Redis. In-process API and worker over real HTTP."""

from __future__ import annotations

import json

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sandbox import db, redis_client
from sandbox.client.blocking import tls
from sandbox.observability import logs
from sandbox.observability.metrics import ARQ_QUEUE
from sandbox.payouts.lifecycle.schedule import STEP_DUE_JOB
from tests.helpers import app_spec, payout_body, wait_for


async def scrape(stack) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics by (name, sorted labels), read with the operator's key (30 s,
    as tests/helpers.py's metrics_text: the table counts took more than httpx's 5 on two cores
    at a load of 40)."""
    async with httpx.AsyncClient(verify=tls(), timeout=30) as c:
        r = await c.get(stack.base_url + "/metrics", headers={"X-API-KEY": stack.admin_key})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def sample(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_request_lines_carry_request_merchant_and_payout_ids(merchant, json_logs):
    created = await merchant.post("/payouts", payout_body(), headers={"X-Request-ID": "req-obs-create"})
    assert created.status_code == 201, created.text
    payout_id = created.json()["id"]
    got = await merchant.get(f"/payouts/{payout_id}")
    missing = await merchant.get("/no-such-route")
    assert missing.status_code == 404

    def line(**fields) -> dict | None:
        found = json_logs.where(logger="sandbox.http", **fields)
        return found[0] if found else None

    # The line is written after the response went out: wait for it.
    create_line = await wait_for(lambda: _now(line(request_id="req-obs-create")), 5, what="the POST's log line")
    assert create_line["method"] == "POST" and create_line["route"] == "/api/v1/payouts"
    assert create_line["status"] == 201 and create_line["level"] == "info"
    assert create_line["merchant_id"] == merchant.merchant_id
    assert create_line["payout_id"] == payout_id  # from the response body
    assert isinstance(create_line["duration_ms"], float) and create_line["duration_ms"] > 0
    assert create_line["timestamp"].endswith("Z") and "T" in create_line["timestamp"]

    get_line = await wait_for(lambda: _now(line(request_id=got.headers["x-request-id"])), 5, what="the GET's line")
    assert get_line["route"] == "/api/v1/payouts/{payout_id}" and get_line["status"] == 200
    assert get_line["payout_id"] == payout_id and get_line["merchant_id"] == merchant.merchant_id

    # No route matched: one fixed label, not the client's path (bounded cardinality).
    miss_line = await wait_for(lambda: _now(line(request_id=missing.headers["x-request-id"])), 5, what="404 line")
    assert miss_line["route"] == "unmatched" and miss_line["status"] == 404
    assert miss_line["path"] == "/api/v1/no-such-route"


async def _now(value):
    return value


async def test_worker_job_lines_carry_the_payout_id(merchant, worker, json_logs, receiver):
    # The first attempt (made by the relay job) fails by injected fault: the retry is a
    # webhook_deliver job of its own, whose line must name the payout, also when the
    # worker's pool took the retry first on a sweep and the job found it made.
    hook = await merchant.post("/webhook-endpoints", {"url": receiver.url(), "events": ["payout.success"],
                                                      "faults": {"fail_first_attempts": 1}})
    assert hook.status_code == 201, hook.text
    r = await merchant.post("/payouts", payout_body(account="12345678900001"))
    payout_id = r.json()["id"]

    async def finished():
        return (await merchant.get(f"/payouts/{payout_id}")).json()["status"] == "success"

    await wait_for(finished, 20, what="the payout to succeed")
    # Its steps were due at once: the step_due job applied them, and named the payout.
    steps = await wait_for(lambda: _now(json_logs.where(logger="sandbox.payouts.due_claims", payout_id=payout_id,
                                                        message="due steps applied")), 5, what="step lines")
    assert all(s["merchant_id"] == merchant.merchant_id for s in steps), steps
    # The job's own line is written when the job ends, after its steps' lines.
    jobs = await wait_for(lambda: _now(json_logs.where(logger="worker.jobs", job=STEP_DUE_JOB)), 5,
                          what="the step_due job line")
    assert jobs and all(j["outcome"] == "ok" and j["job_id"] and j["job_try"] >= 1 for j in jobs), jobs
    assert all(isinstance(j["duration_ms"], float) for j in jobs)
    # Jobs do not inherit a request's context: no request id leaks into them.
    assert not any("request_id" in j for j in jobs + steps)
    # A webhook delivery job's line names the payout and merchant its event is about.
    sent = await wait_for(lambda: _now(json_logs.where(logger="worker.jobs", job="webhook_deliver",
                                                       payout_id=payout_id)), 60, what="the delivery job line")
    assert sent[0]["merchant_id"] == merchant.merchant_id and sent[0]["outcome"] == "ok"



async def test_a_delivery_job_that_finds_its_attempt_made_still_names_the_payout(merchant, worker, receiver):
    """The other delivery path: the worker's pool took the attempt on a sweep (or another
    worker did) before the attempt's own webhook_deliver job ran; the job claims nothing,
    and its line still names the payout and merchant."""
    from sandbox.settings import get_settings
    from worker import webhooks as worker_webhooks

    hook = await merchant.post("/webhook-endpoints", {"url": receiver.url(), "events": ["payout.success"]})
    assert hook.status_code == 201, hook.text
    payout_id = (await merchant.post("/payouts", payout_body(account="12345678900001"))).json()["id"]

    async def delivered():
        return await db.fetchval("SELECT d.id FROM webhook_delivery d JOIN outbox_event ev ON ev.id = d.event "
                                 "WHERE ev.payout_id = $1 AND d.status = 'succeeded'", payout_id)

    delivery_id = await wait_for(delivered, 30, what="the payout's webhook to be delivered")
    pool = worker_webhooks.build_pool(get_settings())
    try:
        line = logs.new_context(job="webhook_deliver")
        assert await worker_webhooks.webhook_deliver({"webhook_pool": pool}, delivery_id) is False
    finally:
        await pool.close()
        await pool.http.aclose()
    assert line["payout_id"] == payout_id and line["merchant_id"] == merchant.merchant_id, line

def test_text_format_and_redaction():
    import logging

    record = logging.LogRecord("sandbox.x", logging.WARNING, __file__, 1, "key %s and whsec_%s", None, None)
    record.args = ("sk_test_" + "A" * 32, "c2VjcmV0c2VjcmV0")
    record.payout_id = "po_1"
    as_json = json.loads(logs.JsonFormatter().format(record))
    assert as_json["message"] == "key sk_test_[redacted] and whsec_[redacted]"
    assert as_json["payout_id"] == "po_1" and as_json["level"] == "warning" and as_json["logger"] == "sandbox.x"
    text = logs.TextFormatter().format(record)
    assert "WARNING sandbox.x: key sk_test_[redacted]" in text and text.endswith("payout_id=po_1")


def test_both_formats_escape_control_characters_a_client_sent():
    import logging
    import sys

    record = logging.LogRecord("sandbox.http", logging.INFO, __file__, 1, "GET %s", ("unmatched",), None)
    record.path = "/no\n2026-11-23 19:00:00,000 ERROR sandbox.auth: forged\x1b[2J\x9b\x7f"
    try:
        raise ValueError("bad\n2026-11-23 19:00:00,000 ERROR forged in a traceback")
    except ValueError:
        record.exc_info = sys.exc_info()
    as_json = logs.JsonFormatter().format(record)
    assert "\n" not in as_json and not any(c in as_json for c in "\x1b\x9b\x7f")
    assert json.loads(as_json)["path"] == record.path
    text = logs.TextFormatter().format(record)
    first, *traceback = text.split("\n")
    assert "path=/no\\n2026-11-23 19:00:00,000 ERROR sandbox.auth: forged\\x1b[2J\\x9b\\x7f" in first
    assert not any(c in text for c in "\x1b\x9b\x7f")
    # A traceback keeps its lines, indented under its record: no line of it passes for one.
    assert traceback and all(line.startswith("    ") for line in traceback)
    assert traceback[-1] == "    2026-11-23 19:00:00,000 ERROR forged in a traceback"


async def test_metrics_are_global_numbers_from_postgres_and_redis(stack, merchant):
    before = await scrape(stack)
    created = [await merchant.post("/payouts", payout_body()) for _ in range(3)]
    assert all(r.status_code == 201 for r in created)
    assert (await merchant.post("/payouts", payout_body(amount="abc"))).status_code == 400
    queued_before = await redis_client.get().zcard(ARQ_QUEUE)
    after = await scrape(stack)
    queued_after = await redis_client.get().zcard(ARQ_QUEUE)

    labels = {"route": "/api/v1/payouts", "method": "POST"}
    name = "sandbox_http_request_duration_seconds_count"
    assert sample(after, name, status="2xx", **labels) - sample(before, name, status="2xx", **labels) == 3
    assert sample(after, name, status="4xx", **labels) - sample(before, name, status="4xx", **labels) == 1
    assert sample(after, "sandbox_http_request_duration_seconds_bucket", status="2xx", le="+Inf", **labels) == \
        sample(after, name, status="2xx", **labels)

    # Payouts by status: every status is present, and the numbers are the database's.
    rows = {r["status"]: r["n"] for r in await db.fetch("SELECT status, count(*) AS n FROM payout GROUP BY status")}
    for status in ("in_review", "pending", "processing", "success", "failed", "returned"):
        assert sample(after, "sandbox_payouts", status=status) == rows.get(status, 0), status
    # No worker runs in this test: jobs may be added (a relay wake-up after a commit) but
    # none taken, so the scrape saw a depth between the two readings around it.
    assert queued_before <= sample(after, "sandbox_queue_depth") <= queued_after
    # The creations queued work (each commit wakes a step_due job; wake-ups of one job id
    # are one job, so fewer than three): the depth read is Redis's, not a zero by default.
    assert queued_before >= 1 and sample(after, "sandbox_queue_depth") >= 1
    deliveries = await db.fetch("SELECT status, count(*) AS n FROM webhook_delivery GROUP BY status")
    for row in deliveries:
        assert sample(after, "sandbox_webhook_deliveries", status=row["status"]) == row["n"]


async def test_job_latency_reaches_metrics(stack, merchant, worker):
    before = await scrape(stack)
    r = await merchant.post("/payouts", payout_body(account="12345678900003"))  # pending → processing → failed
    payout_id = r.json()["id"]

    async def failed():
        return (await merchant.get(f"/payouts/{payout_id}")).json()["status"] == "failed"

    await wait_for(failed, 20, what="the payout to fail")
    name = "sandbox_job_duration_seconds_count"
    job = STEP_DUE_JOB  # its steps are due at once; the job that applied them ends after they commit

    async def counted():
        after = await scrape(stack)
        return (sample(after, name, job=job, outcome="ok") - sample(before, name, job=job, outcome="ok") >= 1
                and sample(after, "sandbox_job_queue_wait_seconds_count", job=job)
                > sample(before, "sandbox_job_queue_wait_seconds_count", job=job))

    await wait_for(counted, 60, what="the step_due job's run and wait in the metrics")


def test_metrics_route_is_not_in_the_openapi_spec():
    assert "/metrics" not in json.loads(app_spec())["paths"]


async def test_labels_stay_bounded_whatever_the_client_sends(stack):
    async with httpx.AsyncClient(verify=tls()) as c:
        await c.request("PROPFIND", stack.base_url + "/api/v1/payouts/po_x")
        await c.get(stack.base_url + "/api/v1/" + "random-path-" + "x" * 40)
    samples = await scrape(stack)
    labels = [dict(labels) for name, labels in samples if name == "sandbox_http_request_duration_seconds_count"]
    assert {"route": "unmatched", "method": "other", "status": "4xx"} in labels  # 405 from the router
    assert not any("PROPFIND" in lb.values() or "random-path" in lb["route"] for lb in labels)


def test_log_format_setting(monkeypatch):
    import pytest

    from sandbox.settings import get_settings

    monkeypatch.delenv("SANDBOX_LOG_FORMAT", raising=False)
    assert get_settings().log_format is None  # the processes default to JSON
    monkeypatch.setenv("SANDBOX_LOG_FORMAT", "Text")
    assert get_settings().log_format == "text"
    monkeypatch.setenv("SANDBOX_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="SANDBOX_LOG_FORMAT"):
        get_settings()
