"""A merchant's own scenarios: made (checked by `rules`), listed, deleted, and read for
the payouts that pick one (POST /payouts, a batch, a reinitiation). One merchant's
scenarios never reach another: every query names the merchant."""

from __future__ import annotations

import asyncpg
import msgspec
from msgspec.structs import replace

from sandbox import db
from sandbox.auth import cache as auth_cache
from sandbox.core.clock import iso, now
from sandbox.core.errors import Conflict, NotFound
from sandbox.coverage.asked import RESERVED_NAMES
from sandbox.payouts.model import scenarios
from sandbox.payouts.model.scenarios import Scenario
from sandbox.scenarios import rules
from sandbox.scenarios.schemas import ScenarioCreate
from sandbox.settings import get_settings

_encode = msgspec.json.Encoder()


class ScenarioTaken(Conflict):
    code, title = "scenario_taken", "The scenario's name or suffix is taken"


async def create(merchant_id: str, body: ScenarioCreate) -> Scenario:
    """Raises ImpossibleTimeline (422), ScenarioTaken (409: a name or suffix taken, or a
    name reserved) or Conflict at the limit (409)."""
    scenario = rules.checked(body)
    table = scenarios.table()
    if body.name in RESERVED_NAMES:
        raise ScenarioTaken(f"{body.name!r} is reserved: {', '.join(RESERVED_NAMES)} name operator paths and every"
                            " scenario in coverage and the gate (--require-coverage), so no scenario may be called"
                            " one; choose another name")
    if table.named(body.name) is not None:
        raise ScenarioTaken(f"{body.name!r} is a built-in scenario's name; choose another")
    if body.suffix is not None and (built_in := next((s for s in table.scenarios if s.suffix == body.suffix),
                                                     None)):
        raise ScenarioTaken(f"Suffix {body.suffix} picks the built-in scenario {built_in.name!r}; choose another")
    most = get_settings().scenarios_max
    at = now()
    scenario = replace(scenario, created_at=iso(at))
    async with db.transaction():
        # One creation at a time per merchant, so two at once cannot both pass the count.
        await db.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"scenarios:{merchant_id}")
        if await db.fetchval("SELECT count(*) FROM merchant_scenario WHERE merchant = $1", merchant_id) >= most:
            raise Conflict(f"A merchant may have at most {most} scenarios of its own (SANDBOX_SCENARIOS_MAX);"
                           " delete one first (DELETE /sandbox/scenarios/{name})")
        try:
            await db.execute(
                "INSERT INTO merchant_scenario (merchant, name, suffix, body, created_at)"
                " VALUES ($1, $2, $3, $4::jsonb, $5)",
                merchant_id, body.name, body.suffix, _encode.encode(scenario).decode(), at)
        except asyncpg.UniqueViolationError as exc:
            on_suffix = "suffix" in (getattr(exc, "constraint_name", None) or "")
            taken = f"suffix {body.suffix}" if on_suffix else f"the name {body.name!r}"
            raise ScenarioTaken(f"Another of your scenarios has {taken}; delete it first or choose another") from None
    # The merchant's keys say whether it has scenarios: this process forgets them at the
    # commit (its next POST /payouts must see the scenario), the others when PostgreSQL tells them.
    await db.after_commit(auth_cache.forget_all)
    return scenario


async def delete(merchant_id: str, name: str) -> None:
    """The payouts already on it keep it: each carries its own copy (`payout.script`)."""
    if await db.execute("DELETE FROM merchant_scenario WHERE merchant = $1 AND name = $2",
                        merchant_id, name) == "DELETE 0":
        raise NotFound(f"No scenario {name!r} of yours")
    await db.after_commit(auth_cache.forget_all)
