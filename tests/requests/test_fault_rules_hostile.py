"""Fault rules as a hostile or careless client meets them: bounded, listed a page at a
time, never able to lock the merchant out of the controls that remove them, and holding
the delay they were given."""

from __future__ import annotations

import secrets


async def _create(merchant, **rule):
    return await merchant.post("/sandbox/faults", {"path": "/payouts", "fault": "unavailable", **rule})


async def test_rules_with_uses_left_are_bounded_and_the_limit_is_named(merchant, monkeypatch):
    monkeypatch.setenv("SANDBOX_FAULT_RULES_MAX", "3")
    assert [(await _create(merchant)).status_code for _ in range(3)] == [201, 201, 201]
    refused = await _create(merchant)
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json")
    assert "at most 3 fault rules" in refused.json()["detail"]
    listed = (await merchant.get("/sandbox/faults")).json()["data"]
    assert len(listed) == 3  # the refusal changed nothing
    # A spent rule no longer counts: one more is taken once one is used up.
    assert (await merchant.post("/payouts", {})).status_code == 503
    assert (await _create(merchant)).status_code == 201


async def test_spent_rules_go_with_the_request_log_retention(merchant, database):
    from sandbox import db
    from sandbox.requests import retention

    spent = (await _create(merchant)).json()
    armed = (await _create(merchant, path="/balance", times=5)).json()
    assert (await merchant.post("/payouts", {})).status_code == 503
    await db.execute("UPDATE fault_rule SET created_at = now() - interval '25 hours' WHERE id = ANY($1)",
                     [spent["id"], armed["id"]])
    await retention.prune()
    assert [r["id"] for r in (await merchant.get("/sandbox/faults")).json()["data"]] == [armed["id"]]


async def test_the_default_bound_holds(merchant):
    codes = [(await _create(merchant)).status_code for _ in range(101)]
    assert codes == [201] * 100 + [409]


async def test_rules_are_listed_a_page_at_a_time(merchant):
    made = [(await _create(merchant, times=i + 1)).json()["id"] for i in range(5)]
    first = (await merchant.get("/sandbox/faults", params={"limit": 2})).json()
    assert [r["id"] for r in first["data"]] == made[:2] and first["has_more"] is True
    rest, cursor = [], first["next_cursor"]
    while cursor:
        page = (await merchant.get("/sandbox/faults", params={"limit": 2, "cursor": cursor})).json()
        rest += [r["id"] for r in page["data"]]
        cursor = page["next_cursor"]
    assert rest == made[2:]
    assert (await merchant.get("/sandbox/faults", params={"limit": 1000})).status_code == 400
    assert (await merchant.get("/sandbox/faults", params={"cursor": "nonsense"})).status_code == 400
    whole = (await merchant.get("/sandbox/faults")).json()
    assert len(whole["data"]) == 5 and whole["has_more"] is False and whole["next_cursor"] is None


async def test_a_catch_all_rule_cannot_lock_the_merchant_out_of_its_controls(merchant):
    rule = (await merchant.post("/sandbox/faults", {"method": "*", "path": "/", "fault": "unavailable",
                                                    "times": 100})).json()
    assert (await merchant.get("/balance")).status_code == 503  # the rule works
    endpoint = await merchant.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"})
    assert endpoint.status_code == 503
    # The fault controls, the request log, coverage: never faulted, even by a header.
    for path in ("/sandbox/faults", "/sandbox/requests", "/sandbox/requests.har", "/sandbox/coverage"):
        r = await merchant.get(path, headers={"X-Sandbox-Fault": "unavailable"})
        assert r.status_code == 200, (path, r.status_code)
    logged = (await merchant.get("/sandbox/requests", params={"method": "GET", "path": "/api/v1/balance"})).json()
    assert (await merchant.get(f"/sandbox/requests/{logged['data'][0]['id']}")).status_code == 200
    listed = (await merchant.get("/sandbox/faults")).json()["data"]
    assert [(r["id"], r["remaining"]) for r in listed] == [(rule["id"], 98)]  # only /balance and the POST spent it
    removed = await merchant.http.delete(f"/sandbox/faults/{rule['id']}",
                                         headers={"X-Idempotency-Key": secrets.token_hex(8)})
    assert removed.status_code == 204
    assert (await merchant.get("/balance")).status_code == 200


async def test_the_receiver_audit_is_never_faulted(merchant):
    endpoint = (await merchant.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"})).json()
    await merchant.post("/sandbox/faults", {"path": "/", "fault": "unavailable", "times": 100})
    audit = await merchant.post(f"/webhook-endpoints/{endpoint['id']}/audit")
    assert audit.status_code == 200, audit.text
    audits = await merchant.get(f"/webhook-endpoints/{endpoint['id']}/audits")
    assert audits.status_code == 200
    one = await merchant.get(f"/webhook-endpoints/{endpoint['id']}/audits/{audit.json()['id']}")
    assert one.status_code == 200
    assert (await merchant.get(f"/webhook-endpoints/{endpoint['id']}")).status_code == 503


async def test_delay_s_comes_back_as_it_was_sent(merchant):
    for delay in (0.01, 0.1, 1.7, 299.99):
        made = (await _create(merchant, fault="slow", delay_s=delay)).json()
        assert made["delay_s"] == delay
    assert [r["delay_s"] for r in (await merchant.get("/sandbox/faults")).json()["data"]] == [0.01, 0.1, 1.7, 299.99]
    raw = (await merchant.get("/sandbox/faults")).text
    assert '"delay_s":0.01,' in raw
