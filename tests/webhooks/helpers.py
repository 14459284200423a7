from __future__ import annotations

import json

from tests.helpers import Api, wait_for
from tests.webhooks.receiver import Receiver

FINAL = {"success", "failed", "rejected", "cancelled", "returned"}


async def endpoint(api: Api, receiver: Receiver, path: str = "/hook", **body) -> dict:
    r = await api.post("/webhook-endpoints", {"url": receiver.url(path), **body})
    assert r.status_code == 201, r.text
    return r.json()


def expected_types(payout: dict) -> list[str]:
    """payout.created (with payout.in_review when created in review), then
    payout.<status> for every later status change."""
    first, *later = payout["status_history"]
    return (["payout.created"] + (["payout.in_review"] if first["status"] == "in_review" else [])
            + [f"payout.{h['status']}" for h in later])


async def payout_in(api: Api, payout_id: str, statuses: set[str]) -> dict:
    async def check():
        p = (await api.get(f"/payouts/{payout_id}")).json()
        return p if p["status"] in statuses else None
    return await wait_for(check, what=f"{payout_id} to reach one of {statuses}")


async def arrivals(receiver: Receiver, count: int, what: str = "webhooks", timeout: float = 60.0):
    async def check():
        return receiver.received if len(receiver.received) >= count else None
    return await wait_for(check, timeout=timeout, what=lambda: f"{count} {what} (got {len(receiver.received)})")


def bodies(receiver: Receiver) -> list[dict]:
    return [json.loads(r.body) for r in receiver.received]


async def deliveries(api: Api, event_id: str) -> list[dict]:
    r = await api.get(f"/events/{event_id}/deliveries")
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def delivery_settled(api: Api, event_id: str, status: str | None = None) -> dict:
    """The event's (first) delivery once it is no longer pending."""
    async def check():
        found = await deliveries(api, event_id)
        done = [d for d in found if d["status"] != "pending"]
        return done[0] if done and (status is None or done[0]["status"] == status) else None
    return await wait_for(check, what=f"delivery of {event_id} to settle")


async def events_of(api: Api, payout_id: str) -> list[dict]:
    """The payout's events, oldest first."""
    r = await api.get("/events", params={"payout_id": payout_id, "limit": 100})
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["data"]))
