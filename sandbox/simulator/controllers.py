"""Sandbox-only tools: fund a merchant, make a fresh merchant for test isolation, read
the failure catalogue (the scenario table is sandbox/scenarios/)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter

from sandbox import onboarding
from sandbox.auth.keys import ADMIN_ONLY, MERCHANT_ONLY
from sandbox.core.money import format_amount, parse_amount
from sandbox.idempotency import claims
from sandbox.ledger import service as ledger
from sandbox.payouts.lifecycle import actions
from sandbox.payouts.model import failures
from sandbox.payouts.model.failures import Failure
from sandbox.payouts.model.schemas import SimulateAccepted, SimulateOutcome
from sandbox.simulator.schemas import MerchantIn, MerchantOut, NewMerchantOut, TopupIn, TopupOut
from sandbox.teams import scope as teams


class SandboxToolsController(Controller):
    """Routes that exist only because this is a sandbox: top-ups, fresh merchants, the
    failure catalogue, and asking the simulated rail for an outcome."""

    path = "/sandbox"
    tags = ["Sandbox tools"]

    @post("/topups", operation_id="createTopup", status_code=201, opt=MERCHANT_ONLY,
          summary="Add funds to available")
    async def topup(self, request: Request, data: JSONBody[TopupIn]) -> TopupOut:
        amount = parse_amount(data.amount)
        posted = await ledger.post(request.user.merchant_id, "topup", amount)
        return TopupOut(
            transaction_id=posted.transaction_id,
            amount=format_amount(amount),
            available=format_amount(posted.available),
            locked=format_amount(posted.locked),
            pending=format_amount(posted.pending),
        )

    @post("/merchants", operation_id="createSandboxMerchant", status_code=201, opt=ADMIN_ONLY,
          summary="Admin: a fresh merchant with a key and an opening balance")
    async def merchant(self, request: Request, data: JSONBody[MerchantIn]) -> NewMerchantOut:
        """The key is shown only in this response. Use one merchant per test run for isolation.
        A team key's merchant belongs to its team (refused with 403 `quota_exceeded` past the
        team's `max_merchants`); the operator key's to the operator's team."""
        created = await onboarding.open_merchant(data.name, parse_amount(data.opening_balance, allow_zero=True),
                                                 clock=data.clock, team=teams.home(request.user), keep=data.keep,
                                                 made_by=claims.key_row(request.scope["state"]))
        return NewMerchantOut(merchant=MerchantOut(id=created.id, name=created.name, clock=created.clock),
                              api_key=created.api_key)

    @post("/payouts/{payout_id:str}/simulate", operation_id="simulateRailOutcome", status_code=202,
          opt=MERCHANT_ONLY, summary="Make the rail report an outcome for a payout")
    async def simulate(self, request: Request, payout_id: Annotated[str, PathParameter(max_length=64)],
                       data: JSONBody[SimulateOutcome]) -> SimulateAccepted:
        """The simulated rail sends a signed IPN callback (`success`, `failed` or `returned`)
        for this submitted payout; the IPN service applies it moments later. Use it for
        payouts waiting on the bank (suffix 0004) or to return a paid one."""
        return await actions.simulate(payout_id, request.user.merchant_id, data.status, data.failure_code)

    @get("/failure-codes", operation_id="listFailureCodes", summary="The failure and return reason catalogue")
    async def failure_codes(self) -> list[Failure]:
        """Every `failure_code` a payout may carry (failed or returned), with the ISO 20022
        reason a rail gives for it, whether trying again as-is can succeed, and its message."""
        return list(failures.CATALOGUE.values())
