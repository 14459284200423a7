"""A new user's receiver, written only from the webhooks guide: the guide's own code block
that keeps each payout's newest status, fed `…0011`'s real webhook bodies (as a local
receiver got them, signatures checked) in shuffled orders and with repeats, ends on the
payout's true last status."""

from __future__ import annotations

import random
from pathlib import Path

from pytest_codeblocks import extract_from_file

from tests.helpers import payout_body
from tests.webhooks.helpers import arrivals, endpoint, payout_in
from tests.webhooks.verify import verify

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"
HANDLER = "on_payout_event"


def guide_receiver() -> dict:
    """The names the guide's receiver block defines, as a reader who copied it has them."""
    [block] = [b for b in extract_from_file(GUIDE) if b.syntax == "python" and f"def {HANDLER}(" in b.code]
    names: dict = {"__name__": "receiver_from_the_guide"}
    exec(compile(block.code, f"{GUIDE}:{block.lineno}", "exec"), names)  # noqa: S102  (the guide's own code)
    return names


async def test_a_receiver_from_the_guide_ends_on_the_last_status(merchant, worker, receiver):
    ep = await endpoint(merchant, receiver, events=["*"])
    p = (await merchant.post("/payouts", payout_body(account="12345678900011"))).json()
    final = await payout_in(merchant, p["id"], {"success"})
    got = await arrivals(receiver, len(final["status_history"]))  # payout.created, then each of six moves
    bodies = [verify(ep, request) for request in got]
    assert {b["data"]["id"] for b in bodies} == {p["id"]}

    receiver_code = guide_receiver()
    for seed in range(25):
        shuffled = random.Random(seed).sample(bodies, len(bodies))
        shuffled += random.Random(-seed).sample(bodies, 3)  # late repeats: at-least-once delivery
        receiver_code["newest"].clear()
        for body in shuffled:
            receiver_code[HANDLER](body)
        assert receiver_code["newest"][p["id"]]["status"] == final["status"] == "success", seed
        assert receiver_code["newest"][p["id"]]["sequence"] == len(bodies)
