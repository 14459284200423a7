"""The provider states a pact may name. Each makes what it names in a fresh merchant of
its own, on a manual clock (so verifications run side by side and rerun without meeting
each other's objects), and answers the values a pact injects with `fromProviderState`
(`${apiKey}`, `${payoutId}`, ...).

A payout is brought to a status the way a merchant's would get there: created through
the payout service, then its scenario walked step by step on the merchant's manual clock
(the clock advance's own engine), an admin's approve or release where the path needs
one. A status is never written; a status the scenario does not pass through is refused,
naming the ones it does."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

from sandbox import onboarding
from sandbox.clocks import store as clocks
from sandbox.clocks.schemas import ClockAdvance
from sandbox.core.errors import FieldError, ImpossibleTimeline, ValidationFailed
from sandbox.core.money import format_amount, parse_amount
from sandbox.merchants.service import Clock
from sandbox.pact import schemas
from sandbox.payouts.lifecycle import actions
from sandbox.payouts.lifecycle import service as payouts
from sandbox.payouts.model import scenarios, states
from sandbox.payouts.model.scenarios import Scenario
from sandbox.payouts.model.schemas import PayoutCreate
from sandbox.scenarios import rules
from sandbox.scenarios import store as own_scenarios
from sandbox.scenarios.schemas import ScenarioCreate
from sandbox.simulator import clock_advance
from sandbox.webhooks.endpoints import endpoints
from sandbox.webhooks.model import urls
from sandbox.webhooks.model.schemas import EndpointCreate

Values = dict[str, str]
# A payout's destination in every state: its scenario is chosen by name, not by suffix.
ACCOUNT = "12345678900001"
# Every built-in scenario ends in a handful of steps; a walk longer than this is a bug.
MAX_STEPS = 50


class StateRefused(ValidationFailed):
    title = "The provider state cannot be set up"


def _refuse(state: str, field: str, message: str) -> StateRefused:
    """A refusal a verifier prints: the state, the param at fault, and the known states."""
    return StateRefused(f"{state!r}: {field}: {message}. Known states: {', '.join(map(repr, CATALOGUE))}",
                        errors=[FieldError(field=field, message=message)])


_AT = re.compile(r"at `\$\.?([^`]*)`")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")


T = TypeVar("T")


def params_of(state: str, params: dict[str, Any], kind: type[T]) -> T:
    """`params` as the state's own Struct; a wrong or unknown one is refused by name."""
    try:
        return msgspec.convert(params, kind)
    except msgspec.ValidationError as exc:
        said = str(exc)
        where = _UNKNOWN.search(said) or _AT.search(said)
        name = f"params.{where.group(1)}" if where else "params"
        known = ", ".join(f.name for f in msgspec.structs.fields(kind))  # pyright: ignore[reportArgumentType]
        raise _refuse(state, name, f"{_AT.sub('', said).strip(' -')} (this state's params: {known})") from None


async def _merchant(state: str, balance: str, clock: Clock = "manual") -> tuple[str, str]:
    made = await onboarding.open_merchant(f"pact: {state}", parse_amount(balance, allow_zero=True), clock=clock)
    return made.id, made.api_key


def _path(scenario: Scenario) -> list[str]:
    return [*scenario.path, *(step.status for step in scenario.after_release)]


def _scenario(state: str, chosen: str | dict[str, Any]) -> tuple[Scenario, ScenarioCreate | None]:
    """The scenario a payout state names, checked before anything is made; with the body
    that makes it, for a scenario of the merchant's own."""
    if isinstance(chosen, dict):
        body = params_of(state, chosen, ScenarioCreate)
        try:
            return rules.checked(body), body
        except ImpossibleTimeline as exc:  # named as the param it is: params.scenario.steps[0]
            where = exc.errors[0].field if exc.errors else ""
            raise _refuse(state, f"params.scenario.{where}".rstrip("."), exc.errors[0].message if exc.errors
                          else exc.detail) from None
    found = scenarios.table().named(chosen)
    if found is None:
        raise _refuse(state, "params.scenario", f"no scenario is called {chosen!r}; the built-in ones: "
                      + ", ".join(scenarios.SCENARIO_NAMES) + " (or give one of your own as an object)")
    return found, None


async def walk(merchant_id: str, payout_id: str, status: str) -> None:
    """Move the payout along its scenario until it shows `status`: each step at the time
    it falls due on the merchant's manual clock, so it stops exactly there."""
    for _ in range(MAX_STEPS):
        await clocks.follow(merchant_id)
        row = await payouts.get_row(payout_id, merchant_id)
        if row.status == status:
            return
        if row.status == states.IN_REVIEW:
            await actions.approve(payout_id, "provider state")
        elif row.status == states.ON_HOLD:
            await actions.release(payout_id, "provider state")
        elif row.next_action_at is None:
            raise ValidationFailed.field("params.status", f"the payout stopped at {row.status} before {status}")
        else:
            clock = await clocks.manual_clock(merchant_id)
            assert clock is not None  # every state's merchant is on a manual clock
            await clock_advance.advance(merchant_id, ClockAdvance(
                seconds=max(0.0, (row.next_action_at - clock.time).total_seconds())))
    raise ValidationFailed.field("params.status", f"{status} was not reached in {MAX_STEPS} steps")


async def a_payout(state: str, params: dict[str, Any], admin_key: str) -> Values:
    p = params_of(state, params, schemas.PayoutParams)
    scenario, own = _scenario(state, p.scenario)
    path = _path(scenario)
    status = p.status or path[-1]
    if status not in path and status != states.IN_REVIEW:
        raise _refuse(state, "params.status", f"scenario {scenario.name} never shows {status!r}; "
                      f"its path: {' → '.join(path)}")
    if status == states.IN_REVIEW and not scenarios.table().needs_review(parse_amount(p.amount)):
        raise _refuse(state, "params.status", "a payout is in_review only at or above the review threshold "
                      f"({scenarios.table().review.min_amount}); set params.amount, or use 'a payout in review'")
    merchant_id, api_key = await _merchant(state, p.balance)
    if own is not None:  # made in the fresh merchant, as POST /sandbox/scenarios makes it
        scenario = await own_scenarios.create(merchant_id, own)
    payout_id = await _create(merchant_id, p.amount, scenario)
    await walk(merchant_id, payout_id, status)
    return {"merchantId": merchant_id, "apiKey": api_key, "payoutId": payout_id, "scenario": scenario.name,
            "status": status}


async def _create(merchant_id: str, amount: str, scenario: Scenario) -> str:
    await clocks.follow(merchant_id)
    body = msgspec.convert({"amount": amount, "scenario": scenario.name, "destination": {
        "type": "bank", "bank_code": "HBL", "account_number": ACCOUNT, "account_title": "Pact Consumer"}},
        PayoutCreate)
    return (await payouts.create(merchant_id, body, own_scenarios=scenario.custom)).id


async def a_merchant(state: str, params: dict[str, Any], admin_key: str) -> Values:
    p = params_of(state, params, schemas.MerchantParams)
    merchant_id, api_key = await _merchant(state, p.balance)
    return {"merchantId": merchant_id, "apiKey": api_key}


async def a_payout_in_review(state: str, params: dict[str, Any], admin_key: str) -> Values:
    p = params_of(state, params, schemas.ReviewParams)
    threshold = scenarios.table().review_min_minor
    amount = p.amount or format_amount(threshold)
    if parse_amount(amount) < threshold:
        raise _refuse(state, "params.amount", f"below the review threshold ({format_amount(threshold)})")
    merchant_id, api_key = await _merchant(state, p.balance)
    payout_id = await _create(merchant_id, amount, scenarios.table().by_name(scenarios.table().default))
    # An admin interaction (approve, reject) sends the admin key: the one this call came with.
    return {"merchantId": merchant_id, "apiKey": api_key, "payoutId": payout_id, "adminKey": admin_key}


async def a_webhook_endpoint(state: str, params: dict[str, Any], admin_key: str) -> Values:
    p = params_of(state, params, schemas.EndpointParams)
    body = params_of(state, msgspec.to_builtins(p), EndpointCreate)
    await urls.check(body.url)  # refused before the merchant is made (create checks it again)
    merchant_id, api_key = await _merchant(state, "1000000.00")
    made = await endpoints.create(merchant_id, body)
    return {"merchantId": merchant_id, "apiKey": api_key, "endpointId": made.id,
            "secret": made.secret or made.public_key or ""}


async def a_batch(state: str, params: dict[str, Any], admin_key: str) -> Values:
    from sandbox.batches import upload  # the batch upload's code is loaded only for this state

    p = params_of(state, params, schemas.BatchParams)
    # A batch is worked through by the worker at its own pace, which a manual clock would not
    # move: its merchant is on a live clock.
    merchant_id, api_key = await _merchant(state, p.balance, clock="live")
    if isinstance(p.rows, dict):
        for name in p.rows:
            if scenarios.table().named(name) is None:
                raise _refuse(state, f"params.rows.{name}", "not a built-in scenario; the built-in ones: "
                              + ", ".join(scenarios.SCENARIO_NAMES))
        items = [{"amount": "1500.00", "currency": "PKR", "scenario": name, "reference": f"pact-{name}-{i}",
                  "destination": {"type": "bank", "bank_code": "HBL", "account_number": ACCOUNT,
                                  "account_title": "Pact Consumer"}}
                 for name, count in p.rows.items() for i in range(count)]
    else:
        items = p.rows
    if not items:
        raise _refuse(state, "params.rows", "a batch needs at least one row")
    await clocks.follow(merchant_id)
    batch = await upload.accept_json(merchant_id, [msgspec.Raw(msgspec.json.encode(i)) for i in items])
    return {"merchantId": merchant_id, "apiKey": api_key, "batchId": batch.id}


Setup = Callable[[str, dict[str, Any], str], Awaitable[Values]]
CATALOGUE: dict[str, Setup] = {
    "a merchant": a_merchant,
    "a payout": a_payout,
    "a payout in review": a_payout_in_review,
    "a webhook endpoint": a_webhook_endpoint,
    "a batch": a_batch,
}


async def change(body: schemas.StateChange, admin_key: str) -> Values:
    """Set up a state (its values), or tear one down: nothing to undo, since each state
    lives in a merchant of its own that no other interaction sees, so a teardown (once
    or twice) answers an empty object."""
    if body.state == "" or body.action == "teardown" and body.state in CATALOGUE:
        return {}  # "": Pact's own setup before each interaction, which asks for nothing here
    if body.state not in CATALOGUE:
        raise _refuse(body.state, "state", "unknown state")
    return await CATALOGUE[body.state](body.state, body.params, admin_key)
