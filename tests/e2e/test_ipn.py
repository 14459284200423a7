"""The IPN service as the rail (or an attacker) calls it: real HTTP, real signatures."""

import asyncio
import secrets
import time

import httpx
import msgspec
import pytest

from sandbox import db
from sandbox.client.blocking import tls
from sandbox.ledger.service import check_invariant
from sandbox.rail.signing import sign
from tests.helpers import RAIL_SECRET, payout_body, wait_for


async def submitted(merchant, account="12345678900004", amount="100.00"):
    p = (await merchant.post("/payouts", payout_body(amount=amount, account=account))).json()

    async def psp():
        row = (await merchant.get(f"/payouts/{p['id']}")).json()
        return row if row["psp_reference"] else None

    return await wait_for(psp, what="submission to the rail")


async def call(stack, body: dict | bytes, *, secret=RAIL_SECRET, timestamp=None, signature=None):
    raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
    header = signature if signature is not None else sign(secret, raw, timestamp)
    async with httpx.AsyncClient(verify=tls()) as http:
        return await http.post(stack.ipn_url + "/ipn/rail", content=raw,
                               headers={"Content-Type": "application/json", "X-Rail-Signature": header})


def note(psp, status="success", **extra):
    return {"psp_reference": psp, "notification_id": "n_" + secrets.token_hex(8), "status": status, **extra}


@pytest.mark.parametrize("how", ["wrong_secret", "stale", "future", "tampered", "missing", "garbage"])
async def test_bad_signatures_are_refused(stack, merchant, worker, how):
    p = await submitted(merchant)
    body = note(p["psp_reference"])
    raw = msgspec.json.encode(body)
    if how == "wrong_secret":
        r = await call(stack, raw, secret="not-the-secret")
    elif how == "stale":
        r = await call(stack, raw, timestamp=int(time.time()) - 301)
    elif how == "future":
        r = await call(stack, raw, timestamp=int(time.time()) + 330)  # margin: the request may take a while to arrive
    elif how == "tampered":
        header = sign(RAIL_SECRET, raw)
        r = await call(stack, msgspec.json.encode({**body, "status": "failed"}), signature=header)
    elif how == "missing":
        r = await call(stack, raw, signature="")
    else:
        r = await call(stack, raw, signature="t=abc,v1=zz")
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "unauthenticated"
    assert (await merchant.get(f"/payouts/{p['id']}")).json()["status"] == "pending"


async def test_unknown_reference_and_bad_body(stack):
    r = await call(stack, note("RAIL_NOPE"))
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await call(stack, b'{"psp_reference": ')
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    r = await call(stack, {"psp_reference": "x", "notification_id": "y", "status": "paid"})
    assert r.status_code == 400 and r.json()["code"] == "validation_error"


async def test_duplicates_apply_once_and_illegal_is_refused(stack, merchant, worker):
    p = await submitted(merchant, amount="250.00")
    n = note(p["psp_reference"])
    results = await asyncio.gather(*[call(stack, n) for _ in range(8)])
    assert sorted(r.status_code for r in results) == [200] * 8
    assert sorted(r.json()["result"] for r in results) == ["applied"] + ["duplicate"] * 7
    done = (await merchant.get(f"/payouts/{p['id']}")).json()
    assert [h["status"] for h in done["status_history"]] == ["pending", "success"]
    txs = await db.fetchval("SELECT count(*) FROM ledger_transaction WHERE payout_id = $1 AND kind = $2",
                            p["id"], "payout_succeeded")
    assert txs == 1
    # A different notification saying "failed" after success is an illegal transition.
    r = await call(stack, note(p["psp_reference"], "failed"))
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    # Out of order: "returned" for a payout that never succeeded.
    q = await submitted(merchant, amount="10.00")
    r = await call(stack, note(q["psp_reference"], "returned"))
    assert r.status_code == 409
    assert (await merchant.get(f"/payouts/{q['id']}")).json()["status"] == "pending"
    # Then "success" and "returned" in order both apply, each once.
    assert (await call(stack, note(q["psp_reference"], "success"))).status_code == 200
    ret = note(q["psp_reference"], "returned")
    assert (await call(stack, ret)).json()["result"] == "applied"
    assert (await call(stack, ret)).json()["result"] == "duplicate"
    b = (await merchant.get("/balance")).json()
    assert b["available"] == "999750.00" and b["locked"] == "0.00"
    assert await check_invariant(merchant.merchant_id) == []


async def test_simulate_refuses_what_cannot_happen(merchant, worker):
    p = await submitted(merchant)
    r = await merchant.post(f"/sandbox/payouts/{p['id']}/simulate", {"status": "returned"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    held = (await merchant.post("/payouts", payout_body(amount="150000.00"))).json()
    r = await merchant.post(f"/sandbox/payouts/{held['id']}/simulate", {"status": "success"})
    assert r.status_code == 409
    r = await merchant.post("/sandbox/payouts/po_nope/simulate", {"status": "success"})
    assert r.status_code == 404
