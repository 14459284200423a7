"""The scenario table through the API: the built-in scenarios and the merchant's own."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody, PathParameter
from msgspec.structs import replace

from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.payouts.model import scenarios
from sandbox.payouts.model.scenarios import Scenario, ScenarioTable
from sandbox.payouts.store import own_scenarios
from sandbox.scenarios import store
from sandbox.scenarios.schemas import ScenarioCreate

NameParam = Annotated[str, PathParameter(max_length=40)]


class ScenarioController(Controller):
    path = "/sandbox/scenarios"
    tags = ["Sandbox tools"]

    @get("", operation_id="listScenarios", summary="The payout scenario table: built-in and your own")
    async def list(self, request: Request) -> ScenarioTable:
        """The built-in scenarios, then the merchant's own (`custom: true`), oldest first.
        An admin key sees the built-in ones."""
        table = scenarios.table()
        merchant_id = request.user.merchant_id
        if merchant_id is None:
            return table
        return replace(table, scenarios=[*table.scenarios, *await own_scenarios.of_merchant(merchant_id)])

    @post("", operation_id="createScenario", status_code=201, opt=MERCHANT_ONLY,
          summary="Make a scenario of your own")
    async def create(self, request: Request, data: JSONBody[ScenarioCreate]) -> Scenario:
        """A timeline in the built-in table's vocabulary, for this merchant's payouts only:
        picked by `suffix` (the destination's last four digits) or by name (`scenario` in
        POST /payouts). Checked against the payout state machine when made: a step the
        machine does not allow is a 422 `impossible_timeline` naming the step and the
        move. A name or suffix of a built-in scenario or of another of yours is a 409
        `scenario_taken`, and so is a reserved name (the operator paths `simulate`,
        `reinitiate`, `cancel`, `approve`, `reject`, `release`, and `all`: coverage and the
        gate read them so); at most SANDBOX_SCENARIOS_MAX (50) scenarios, and 20 steps a list
        (`schemas.MAX_STEPS`)."""
        return await store.create(request.user.merchant_id, data)

    @delete("/{name:str}", operation_id="deleteScenario", status_code=204, opt=MERCHANT_ONLY,
            summary="Delete a scenario of your own")
    async def remove(self, request: Request, name: NameParam) -> None:
        """Payouts already on it keep following it; new payouts no longer pick it."""
        await store.delete(request.user.merchant_id, name)
