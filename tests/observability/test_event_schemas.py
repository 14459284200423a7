"""Webhook event JSON Schemas (openapi/events/): one per event type, generated from the
payload Structs, kept in step with the code, and honoured by every webhook the sandbox
really sends: payouts through every scenario and admin action, a batch, a settlement."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from sandbox.api.openapi_export import render_events
from sandbox.settlements import service as settlements
from sandbox.webhooks.model.event_types import EVENT_TYPES
from tests.batches.helpers import HEADER, upload_csv, wait_completed
from tests.helpers import payout_body, wait_for
from tests.webhooks.helpers import endpoint

# The repository's committed files, beside these tests: not next to the package, which is
# installed elsewhere when the suite runs against a wheel (.ci/debian) and ships no openapi/.
SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
EVENTS_DIR = SPEC_PATH.parent / "events"


def schemas() -> dict[str, dict]:
    return {t: json.loads((EVENTS_DIR / f"{t}.json").read_text()) for t in EVENT_TYPES}


def test_committed_event_schemas_match_the_code():
    expected = render_events()
    assert set(expected) == {f"{t}.json" for t in EVENT_TYPES}
    on_disk = {p.name: p.read_text() for p in EVENTS_DIR.glob("*.json")}
    assert set(on_disk) == set(expected), "run `uv run sandbox openapi` and commit openapi/events/"
    for name, text in expected.items():
        assert on_disk[name] == text, f"{name} drifted from the code: run `uv run sandbox openapi`"


def test_schemas_are_valid_and_refuse_wrong_bodies():
    for event_type, schema in schemas().items():
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        assert not validator.is_valid({"id": "evt_1", "type": event_type, "timestamp": "x"})  # no data
    success = jsonschema.Draft202012Validator(schemas()["payout.success"])
    assert not success.is_valid({"id": "evt_1", "type": "payout.failed", "timestamp": "2026-01-01T00:00:00.000Z",
                                 "data": {}})


async def _settle(merchant, payout_id: str, status: str) -> dict:
    async def reached():
        body = (await merchant.get(f"/payouts/{payout_id}")).json()
        return body if body["status"] == status else None

    return await wait_for(reached, 30, what=f"{payout_id} to be {status}")


async def _create(merchant, account: str, amount: str = "150.00") -> str:
    r = await merchant.post("/payouts", payout_body(amount=amount, account=account))
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_every_sent_webhook_matches_its_schema(merchant, admin, worker, receiver):
    await endpoint(merchant, receiver, events=["*"])

    ok = await _create(merchant, "12345678900001")
    retried = await _create(merchant, "12345678900002")
    failed = await _create(merchant, "12345678900003")
    by_ipn = await _create(merchant, "12345678900004")
    held = await _create(merchant, "12345678900005")
    held_rejected = await _create(merchant, "22345678900005")
    reviewed = await _create(merchant, "12345678900001", amount="150000.00")
    review_rejected = await _create(merchant, "12345678900001", amount="150000.00")
    review_cancelled = await _create(merchant, "12345678900001", amount="150000.00")

    await _settle(merchant, ok, "success")
    r = await merchant.post(f"/sandbox/payouts/{ok}/simulate", {"status": "returned"})
    assert r.status_code == 202, r.text
    await _settle(merchant, ok, "returned")
    await _settle(merchant, retried, "success")
    await _settle(merchant, failed, "failed")
    assert (await merchant.post(f"/payouts/{failed}/reinitiate", {})).status_code == 200
    await _settle(merchant, failed, "failed")  # the same account fails again
    await _settle(merchant, by_ipn, "pending")
    await wait_for(lambda: _submitted(merchant, by_ipn), 30, what="the rail to take the payout")
    assert (await merchant.post(f"/sandbox/payouts/{by_ipn}/simulate", {"status": "success"})).status_code == 202
    await _settle(merchant, by_ipn, "success")
    await _settle(merchant, held, "on_hold")
    assert (await admin.post(f"/admin/payouts/{held}/release", {})).status_code == 200
    await _settle(merchant, held, "success")
    await _settle(merchant, held_rejected, "on_hold")
    assert (await admin.post(f"/admin/payouts/{held_rejected}/reject", {})).status_code == 200
    assert (await admin.post(f"/admin/payouts/{reviewed}/approve", {})).status_code == 200
    await _settle(merchant, reviewed, "success")
    assert (await admin.post(f"/admin/payouts/{review_rejected}/reject", {})).status_code == 200
    assert (await merchant.post(f"/payouts/{review_cancelled}/cancel", {})).status_code == 200

    r = await upload_csv(merchant, HEADER + "s-1,10.00,bank,HBL,,,12345678900001,Ali Raza,schema\n")
    assert r.status_code == 202, r.text
    await wait_completed(merchant, r.json()["id"])
    assert (await merchant.post("/sandbox/collections", {"amount": "5.00", "outcome": "approve"})).status_code == 201
    # Settled now, by this call or by the worker's own settle_due cron beside it (which won the
    # race in .ci/debian's lane, 29 Nov: run_due then found nothing left): the webhooks below say.
    await settlements.run_due()

    expected = set(EVENT_TYPES)

    async def all_types():
        return {json.loads(x.body)["type"] for x in receiver.received} >= expected or None

    await wait_for(all_types, 30, what="a webhook of every event type")
    validators = {t: jsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker())
                  for t, s in schemas().items()}
    typed = spec_webhook_validators()  # what a receiver typed from the spec's `webhooks` expects
    for got in receiver.received:
        body = json.loads(got.body)
        errors = [e.message for e in validators[body["type"]].iter_errors(body)]
        errors += [e.message for e in typed[body["type"]].iter_errors(body)]
        assert not errors, f"{body['type']} {body['id']}: {errors}"
        assert got.webhook_id == body["id"]


def spec_webhook_validators() -> dict[str, jsonschema.Draft202012Validator]:
    """One validator per event type from the committed spec's top-level `webhooks`."""
    spec = json.loads(SPEC_PATH.read_text())
    out = {}
    for event_type, item in spec["webhooks"].items():
        ref = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        out[event_type] = jsonschema.Draft202012Validator({"$ref": ref, "components": spec["components"]},
                                                          format_checker=jsonschema.FormatChecker())
    return out


async def _submitted(merchant, payout_id: str) -> bool:
    return (await merchant.get(f"/payouts/{payout_id}")).json()["psp_reference"] is not None
