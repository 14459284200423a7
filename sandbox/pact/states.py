"""The provider states a pact may name. Each makes what it names in a fresh merchant of
its own, on a manual clock (so verifications run side by side and rerun without meeting
each other's objects), and answers the values a pact injects with `fromProviderState`
(`${apiKey}`, `${payoutId}`, ...).

Every state is two steps: `check` reads and judges all its params (the balance an amount
needs, a batch's row count, a scenario's timeline) and makes nothing; only then `make`
opens the merchant. A refusal is a 400 naming the param at fault, and leaves nothing
behind. The messages route (messages.py) checks and makes a payout state the same way,
so a state means the same on both routes.

A payout is brought to a status the way a merchant's would get there: created through
the payout service, then its scenario walked step by step on the merchant's manual clock
(the clock advance's own engine), an admin's approve or release where the path needs
one. A status is never written; a status the scenario does not pass through is refused,
naming the ones it does."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from sandbox import db, onboarding
from sandbox.clocks import store as clocks
from sandbox.clocks.schemas import ClockAdvance
from sandbox.core.errors import ApiError, FieldError, ImpossibleTimeline, ValidationFailed
from sandbox.core.money import AmountError, format_amount, parse_amount
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
from sandbox.teams.scope import OPERATOR_TEAM
from sandbox.webhooks.endpoints import endpoints
from sandbox.webhooks.model import urls
from sandbox.webhooks.model.schemas import EndpointCreate
from sandbox.webhooks.store import target_policy

Values = dict[str, str]
# A payout's destination in every state: its scenario is chosen by name, not by suffix.
ACCOUNT = "12345678900001"
# Every built-in scenario ends in a handful of steps; a walk longer than this is a bug.
MAX_STEPS = 50
# What each item of `a batch` given as a count of rows is for.
BATCH_ROW_AMOUNT = "1500.00"


class StateRefused(ValidationFailed):
    title = "The provider state cannot be set up"


def refuse(state: str, field: str, message: str) -> StateRefused:
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
        raise refuse(state, name, f"{_AT.sub('', said).strip(' -')} (this state's params: {known})") from None


def _money(state: str, field: str, value: str, *, allow_zero: bool = False) -> int:
    try:
        return parse_amount(value, allow_zero=allow_zero)
    except AmountError as exc:
        raise refuse(state, field, str(exc)) from None


def _affordable(state: str, needed: int, balance: str, what: str) -> None:
    """The balance a state's payouts need is there (else the payout service would answer
    422 insufficient_funds after the merchant was made)."""
    if needed > _money(state, "params.balance", balance, allow_zero=True):
        raise refuse(state, "params.balance", f"{balance} does not cover {what} ({format_amount(needed)}); "
                     "raise params.balance or leave it out (default 1000000.00)")


# The team a state's merchant belongs to: the key's that asked (a team key's team, the
# operator's own for the operator's key), set by the route for its request (pact/controllers.py).
MAKING_FOR: ContextVar[str] = ContextVar("pact_making_for", default=OPERATOR_TEAM)


async def _merchant(state: str, balance: str, clock: Clock = "manual") -> tuple[str, str]:
    made = await onboarding.open_merchant(f"pact: {state}", parse_amount(balance, allow_zero=True), clock=clock,
                                          team=MAKING_FOR.get())
    return made.id, made.api_key


def path_of(scenario: Scenario) -> list[str]:
    return [*scenario.path, *(step.status for step in scenario.after_release)]


# --- a payout, and a payout in review ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class PayoutPlan:
    """A payout state, checked: what `make_payout` will make."""

    state: str
    scenario: Scenario
    own: ScenarioCreate | None  # a scenario of the merchant's own, made in it first
    status: str
    amount: str
    balance: str

    @property
    def reviewed(self) -> bool:
        return scenarios.table().needs_review(parse_amount(self.amount))

    def events(self) -> list[str]:
        """The events such a payout has sent once it stands at its status, in order: made
        (in review at or above the threshold, and `payout.pending` when an admin approves
        it), then one event per status its scenario's path shows, up to the status."""
        sent = ["payout.created"]
        if self.reviewed:
            sent.append(f"payout.{states.IN_REVIEW}")
            if self.status == states.IN_REVIEW:
                return sent
            sent.append(f"payout.{states.PENDING}")
        path = path_of(self.scenario)
        if self.status == path[0]:  # pending: where a payout starts, or an approval brings it
            return sent
        for status in path[1:]:
            sent.append(f"payout.{status}")
            if status == self.status:
                break
        return sent


def _scenario(state: str, chosen: str | dict[str, Any]) -> tuple[Scenario, ScenarioCreate | None]:
    """The scenario a payout state names, checked before anything is made; with the body
    that makes it, for a scenario of the merchant's own."""
    if isinstance(chosen, dict):
        body = params_of(state, chosen, ScenarioCreate)
        try:
            return rules.checked(body), body
        except ImpossibleTimeline as exc:  # named as the param it is: params.scenario.steps[0]
            where = exc.errors[0].field if exc.errors else ""
            raise refuse(state, f"params.scenario.{where}".rstrip("."), exc.errors[0].message if exc.errors
                         else exc.detail) from None
    found = scenarios.table().named(chosen)
    if found is None:
        raise refuse(state, "params.scenario", f"no scenario is called {chosen!r}; the built-in ones: "
                     + ", ".join(scenarios.SCENARIO_NAMES) + " (or give one of your own as an object)")
    return found, None


def check_payout(state: str, params: dict[str, Any]) -> PayoutPlan:
    p = params_of(state, params, schemas.PayoutParams)
    scenario, own = _scenario(state, p.scenario)
    path = path_of(scenario)
    if p.status == "":  # not "the end of the path": that is the param left out
        raise refuse(state, "params.status", f"an empty status; give one of scenario {scenario.name}'s statuses "
                     f"({', '.join(path)}), or leave it out for where its path ends ({path[-1]})")
    status = path[-1] if p.status is None else p.status
    amount = _money(state, "params.amount", p.amount)
    if status not in path and status != states.IN_REVIEW:
        raise refuse(state, "params.status", f"scenario {scenario.name} never shows {status!r}; "
                     f"its path: {' → '.join(path)}")
    if status == states.IN_REVIEW and not scenarios.table().needs_review(amount):
        raise refuse(state, "params.status", "a payout is in_review only at or above the review threshold "
                     f"({scenarios.table().review.min_amount}); set params.amount, or use 'a payout in review'")
    _affordable(state, amount, p.balance, f"the payout's amount {p.amount}")
    return PayoutPlan(state, scenario, own, status, p.amount, p.balance)


def check_review(state: str, params: dict[str, Any]) -> PayoutPlan:
    p = params_of(state, params, schemas.ReviewParams)
    threshold = scenarios.table().review_min_minor
    amount = p.amount or format_amount(threshold)
    if _money(state, "params.amount", amount) < threshold:
        raise refuse(state, "params.amount", f"below the review threshold ({format_amount(threshold)})")
    _affordable(state, parse_amount(amount), p.balance, f"the payout's amount {amount}")
    return PayoutPlan(state, scenarios.table().by_name(scenarios.table().default), None, states.IN_REVIEW, amount,
                      p.balance)


async def _own_scenario(plan: PayoutPlan, merchant_id: str) -> Scenario:
    """The merchant's own scenario, made by the scenario store (its rules: a name or suffix
    a built-in scenario has, a reserved name), refused as the param at fault."""
    assert plan.own is not None
    try:
        return await own_scenarios.create(merchant_id, plan.own)
    except own_scenarios.ScenarioTaken as exc:
        field = "suffix" if "suffix" in exc.detail.lower() else "name"
        raise refuse(plan.state, f"params.scenario.{field}", exc.detail) from None


async def try_own_scenario(plan: PayoutPlan) -> None:
    """A scenario of the merchant's own is judged by the store that makes it, in a trial
    merchant whose transaction is always rolled back: refused or not, nothing is left."""
    if plan.own is None:
        return
    async with db.transaction() as tx:
        merchant_id, _ = await _merchant(plan.state, plan.balance)
        try:
            await _own_scenario(plan, merchant_id)
        finally:
            await tx.rollback()


async def make_payout(plan: PayoutPlan, admin_key: str) -> Values:
    scenario = plan.scenario
    if plan.own is None:
        merchant_id, api_key = await _merchant(plan.state, plan.balance)
    else:
        async with db.transaction():  # a refusal after the check takes the merchant with it
            merchant_id, api_key = await _merchant(plan.state, plan.balance)
            scenario = await _own_scenario(plan, merchant_id)
    payout_id = await _create(merchant_id, plan.amount, scenario)
    await walk(merchant_id, payout_id, plan.status)
    values = {"merchantId": merchant_id, "apiKey": api_key, "payoutId": payout_id}
    if plan.state == "a payout in review":
        # An admin interaction (approve, reject) sends the admin key: the one this call came
        # with. Its idempotency keys are kept per merchant (sandbox/idempotency), so a pact's
        # fixed key meets only this fresh merchant's payout, run after run.
        return {**values, "adminKey": admin_key}
    return {**values, "scenario": scenario.name, "status": plan.status}


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


async def _create(merchant_id: str, amount: str, scenario: Scenario) -> str:
    await clocks.follow(merchant_id)
    body = msgspec.convert({"amount": amount, "scenario": scenario.name, "destination": {
        "type": "bank", "bank_code": "HBL", "account_number": ACCOUNT, "account_title": "Pact Consumer"}},
        PayoutCreate)
    return (await payouts.create(merchant_id, body, own_scenarios=scenario.custom)).id


# --- a merchant, a webhook endpoint, a batch ---------------------------------------------

def check_merchant(state: str, params: dict[str, Any]) -> schemas.MerchantParams:
    p = params_of(state, params, schemas.MerchantParams)
    _money(state, "params.balance", p.balance, allow_zero=True)
    return p


async def make_merchant(plan: schemas.MerchantParams, state: str, admin_key: str) -> Values:
    merchant_id, api_key = await _merchant(state, plan.balance)
    return {"merchantId": merchant_id, "apiKey": api_key}


def check_endpoint(state: str, params: dict[str, Any]) -> EndpointCreate:
    p = params_of(state, params, schemas.EndpointParams)
    return params_of(state, msgspec.to_builtins(p), EndpointCreate)


async def try_url(state: str, body: EndpointCreate) -> None:
    """The endpoint's URL, as creating it will judge it (checked again then)."""
    try:
        await urls.check(body.url, await target_policy.policy(fresh=True))
    except ApiError as exc:
        message = exc.errors[0].message if exc.errors else exc.detail
        raise refuse(state, "params.url", message) from None


async def make_endpoint(body: EndpointCreate, state: str, admin_key: str) -> Values:
    merchant_id, api_key = await _merchant(state, "1000000.00")
    made = await endpoints.create(merchant_id, body)
    return {"merchantId": merchant_id, "apiKey": api_key, "endpointId": made.id,
            "secret": made.secret or made.public_key or ""}


@dataclass(frozen=True, slots=True)
class BatchPlan:
    counts: dict[str, int] | None  # rows by scenario name, or None: `items` as given
    items: list[dict[str, Any]]
    balance: str


def check_batch(state: str, params: dict[str, Any]) -> BatchPlan:
    from sandbox.batches.schemas import MAX_ITEMS

    p = params_of(state, params, schemas.BatchParams)
    if isinstance(p.rows, dict):
        for name, count in p.rows.items():
            if scenarios.table().named(name) is None:
                raise refuse(state, f"params.rows.{name}", "not a built-in scenario; the built-in ones: "
                             + ", ".join(scenarios.SCENARIO_NAMES))
            if count < 1:
                raise refuse(state, f"params.rows.{name}", f"a count of rows is at least 1, not {count}")
        total = sum(p.rows.values())
        counts, items = p.rows, []
    else:
        total, counts, items = len(p.rows), None, p.rows
    if total == 0:
        raise refuse(state, "params.rows", "a batch needs at least one row")
    if total > MAX_ITEMS:  # judged on the count, before a single row is built
        raise refuse(state, "params.rows", f"a batch has at most {MAX_ITEMS} rows, not {total}")
    if counts is not None:
        _affordable(state, total * parse_amount(BATCH_ROW_AMOUNT), p.balance,
                    f"{total} rows of {BATCH_ROW_AMOUNT}")
    return BatchPlan(counts, items, p.balance)


async def make_batch(plan: BatchPlan, state: str, admin_key: str) -> Values:
    from sandbox.batches import upload  # the batch upload's code is loaded only for this state

    items = plan.items if plan.counts is None else [
        {"amount": BATCH_ROW_AMOUNT, "currency": "PKR", "scenario": name, "reference": f"pact-{name}-{i}",
         "destination": {"type": "bank", "bank_code": "HBL", "account_number": ACCOUNT,
                         "account_title": "Pact Consumer"}}
        for name, count in plan.counts.items() for i in range(count)]
    # A batch is worked through by the worker at its own pace, which a manual clock would not
    # move: its merchant is on a live clock.
    merchant_id, api_key = await _merchant(state, plan.balance, clock="live")
    await clocks.follow(merchant_id)
    batch = await upload.accept_json(merchant_id, [msgspec.Raw(msgspec.json.encode(i)) for i in items])
    return {"merchantId": merchant_id, "apiKey": api_key, "batchId": batch.id}


# --- the catalogue -------------------------------------------------------------------------

Check = Callable[[str, dict[str, Any]], Any]
Make = Callable[[Any, str, str], Awaitable[Values]]


async def _make_payout(plan: PayoutPlan, state: str, admin_key: str) -> Values:
    return await make_payout(plan, admin_key)


CATALOGUE: dict[str, tuple[Check, Make]] = {
    "a merchant": (check_merchant, make_merchant),
    "a payout": (check_payout, _make_payout),
    "a payout in review": (check_review, _make_payout),
    "a webhook endpoint": (check_endpoint, make_endpoint),
    "a batch": (check_batch, make_batch),
}
PAYOUT_STATES = ("a payout", "a payout in review")


async def check(state: str, params: dict[str, Any]) -> Any:
    """The state's plan, every param judged; raises StateRefused and leaves nothing."""
    if state not in CATALOGUE:
        raise refuse(state, "state", "unknown state")
    plan = CATALOGUE[state][0](state, params)
    if isinstance(plan, PayoutPlan):
        await try_own_scenario(plan)
    elif isinstance(plan, EndpointCreate):
        await try_url(state, plan)
    return plan


async def change(body: schemas.StateChange, admin_key: str) -> Values:
    """Set up a state (its values), check one (`"action": "check"`: judged, nothing made,
    `{}`), or tear one down: nothing to undo, since each state lives in a merchant of its
    own that no other interaction sees, so a teardown (once or twice) answers `{}`."""
    if body.state == "":
        # Pact's own setup before an interaction with no state: a name of "" and no params,
        # which asks for nothing here. With params it asks for something by no name.
        if body.params:
            raise refuse("", "state", f"a state with no name takes no params (given: {', '.join(body.params)}); "
                         "name the state the params are for")
        return {}
    if body.action == "teardown" and body.state in CATALOGUE:
        return {}
    plan = await check(body.state, body.params)
    if body.action != "setup":
        return {}
    return await CATALOGUE[body.state][1](plan, body.state, admin_key)
