"""Teams made by the operator's key (the suite's admin key), each with its key as an Api."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.helpers import Api
from tests.payouts.store.test_payout_one_call import statements  # noqa: F401  (a fixture: statements sent)

MakeTeam = Callable[..., Awaitable[tuple[Api, dict]]]


@pytest.fixture
async def make_team(stack, admin) -> AsyncIterator[MakeTeam]:
    """make_team(**quotas) -> (an Api on the team key, the team as the operator was answered)."""
    made: list[Api] = []

    async def make(name: str = "team", **quotas) -> tuple[Api, dict]:
        r = await admin.post("/admin/teams", {"name": name, **quotas})
        assert r.status_code == 201, r.text
        body = r.json()
        api = Api(stack.base_url, body["api_key"])
        api.team_id = body["team"]["id"]
        made.append(api)
        return api, body["team"]

    yield make
    for api in made:
        await api.aclose()


async def new_team_merchant(stack, team: Api, opening_balance: str = "1000000.00", **extra) -> Api:
    """A merchant made with a team key (as CI makes its merchants), as an Api on its own key."""
    r = await team.post("/sandbox/merchants", {"name": "team merchant", "opening_balance": opening_balance, **extra})
    assert r.status_code == 201, r.text
    api = Api(stack.base_url, r.json()["api_key"])
    api.merchant_id = r.json()["merchant"]["id"]
    return api
