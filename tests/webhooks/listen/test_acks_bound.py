"""A listener's answers are taken only for requests sent to its own endpoint: an id read
from one merchant's stream, POSTed by another merchant (of another team, or of the same
team) to its own listener's `acks`, answers 404 and changes nothing; so does a made-up id.
The merchant's own answer to the same request is then recorded as usual."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from httpx_sse import aconnect_sse

from sandbox.client.blocking import tls
from tests.helpers import Api, new_team, payout_body, wait_for
from tests.teams.conftest import new_team_merchant

pytestmark = pytest.mark.usefixtures("worker")


@contextlib.asynccontextmanager
async def a_stream(base_url: str, merchant: Api, stream_path: str) -> AsyncIterator[asyncio.Queue[dict]]:
    """The listener's stream read raw (as a listener of one's own would), its deliveries
    queued unanswered: the test answers them itself."""
    deliveries: asyncio.Queue[dict] = asyncio.Queue()
    ready = asyncio.Event()

    async def read() -> None:
        async with httpx.AsyncClient(verify=tls(), base_url=base_url, headers={"X-API-KEY": merchant.key or ""},
                                     timeout=httpx.Timeout(30, read=None)) as http:
            async with aconnect_sse(http, "GET", stream_path) as source:
                async for event in source.aiter_sse():
                    if event.event == "ready":
                        ready.set()
                    elif event.event == "delivery":
                        await deliveries.put(json.loads(event.data))

    task = asyncio.create_task(read())
    try:
        async def opened() -> bool:
            if task.done():
                await task  # it ended before ready: its exception says why
            return ready.is_set()

        await wait_for(opened, timeout=30, what="the stream's ready")
        yield deliveries
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def open_listener(merchant: Api) -> dict:
    r = await merchant.post("/webhook-listeners", json={"name": "default"})
    assert r.status_code == 200, r.text
    return r.json()


async def test_another_merchants_answer_to_your_delivery_is_not_found(stack, admin, merchant, other_merchant):
    other_team = await new_team(stack, admin, "acks-other-team")
    foreign = await new_team_merchant(stack, other_team)  # merchant B, of another team
    try:
        mine = await open_listener(merchant)
        endpoint_id = mine["endpoint"]["id"]
        async with a_stream(stack.base_url, merchant, mine["stream"]) as deliveries:
            r = await merchant.post("/payouts", json=payout_body())
            assert r.status_code == 201, r.text
            request = await asyncio.wait_for(deliveries.get(), timeout=30)
            event_id = request["headers"]["webhook-id"]

            # B of another team and C of A's own team each hold a listener of their own,
            # and POST A's request id to it, as if it were theirs: 410 would disable A's endpoint.
            for other in (foreign, other_merchant):
                theirs = await open_listener(other)
                forged = {"acks": [{"id": request["id"], "status_code": 410, "body_excerpt": "forged"}]}
                answer = await other.post(theirs["acks"].removeprefix("/api/v1"), json=forged)
                assert answer.status_code == 404, answer.text
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.json()["code"] == "not_found"
                # A made-up id answers the same, however close to a real one.
                process, count, _ = request["id"].split(".")
                for made_up in (f"{process}.{int(count) + 1}.{'0' * 32}", f"{process}.{count}", "nonsense"):
                    answer = await other.post(theirs["acks"].removeprefix("/api/v1"),
                                              json={"acks": [{"id": made_up, "status_code": 410}]})
                    assert answer.status_code == 404 and answer.json()["code"] == "not_found", (made_up, answer.text)

            # A made-up id in A's own batch refuses the whole batch: A's genuine answer with it is not taken.
            acks = mine["acks"].removeprefix("/api/v1")
            mixed = {"acks": [{"id": request["id"], "status_code": 410},
                              {"id": f"{process}.{int(count) + 1}.{'0' * 32}", "status_code": 410}]}
            answer = await merchant.post(acks, json=mixed)
            assert answer.status_code == 404 and answer.json()["code"] == "not_found", answer.text

            # Nothing was recorded: the attempt still waits for its answer, and A's endpoint is enabled.
            delivery = await _delivery(merchant, event_id, endpoint_id)
            assert delivery["status"] == "pending" and delivery["attempts"] == [], delivery
            assert (await merchant.get(f"/webhook-endpoints/{endpoint_id}")).json()["status"] == "enabled"

            # A's own answer to the same request is taken and recorded.
            answer = await merchant.post(acks, json={"acks": [{"id": request["id"], "status_code": 200,
                                                              "latency_ms": 3, "body_excerpt": "mine"}]})
            assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text

            async def recorded() -> dict | None:  # the attempt and the delivery's status, as test_listen waits
                d = await _delivery(merchant, event_id, endpoint_id)
                return d if d["attempts"] and d["status"] != "pending" else None

            delivery = await wait_for(recorded, timeout=20, what="A's answer recorded")
            assert [(a["status_code"], a["response_excerpt"]) for a in delivery["attempts"]] == [(200, "mine")]
            assert delivery["status"] == "succeeded"
            # Repeated, the answer is still A's to give, and no attempt waits for it: nothing changes.
            again = await merchant.post(acks, json={"acks": [{"id": request["id"], "status_code": 410}]})
            assert again.status_code == 200, again.text
            assert (await _delivery(merchant, event_id, endpoint_id))["attempts"] == delivery["attempts"]
            assert (await merchant.get(f"/webhook-endpoints/{endpoint_id}")).json()["status"] == "enabled"
    finally:
        await foreign.aclose()
        await other_team.aclose()


async def _delivery(merchant: Api, event_id: str, endpoint_id: str) -> dict:
    r = await merchant.get(f"/events/{event_id}/deliveries")
    assert r.status_code == 200, r.text
    return next(d for d in r.json()["data"] if d["endpoint_id"] == endpoint_id)
