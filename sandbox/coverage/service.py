"""Coverage of one merchant, read from the rows the sandbox writes anyway: the payouts'
events and rows (scenarios walked, and where a walk short of its end stopped), their
status history (operator actions), the rail's notifications (simulate), webhook attempts
(event types acknowledged or failed). Only error codes need a table of their own,
`merchant_error_count`, upserted after each problem response."""

from __future__ import annotations

import logging
from collections import Counter

from sandbox import db
from sandbox.core.clock import now
from sandbox.core.errors import ApiError
from sandbox.core.problem_answers import problems_heard
from sandbox.coverage.asked import OPERATOR_PATHS
from sandbox.coverage.paths import judge_walks, operator_moves
from sandbox.coverage.schemas import (
    Coverage,
    CoverageErrorCode,
    CoverageEventType,
    CoverageOperatorPath,
    CoverageScenario,
)
from sandbox.payouts.model import scenarios, states
from sandbox.payouts.store import own_scenarios
from sandbox.payouts.store import repository as payout_rows
from sandbox.requests import verdict

log = logging.getLogger("sandbox.coverage")

# The scenarios walked, from the payouts' events: each event carries the payout as it was
# then, so a payout reinitiated to another account number walked its first scenario under
# that scenario's name and its second under the other (the payout row only knows the
# last). Each walk comes with the copy of the scenario its payout carries (`script`) when
# it is the one the payout follows now: a merchant's scenario deleted and made again under
# the same name with another path leaves the payouts on the old one judged by the old one.
# A walk was submitted when one of its events shows a psp_reference or, for the walk the
# payout is on now, its row has one: a submit that changes no status writes no event
# (`awaiting_ipn` is submitted after its only event, `payout.created`).
# Each status comes with the failure code the payout carried then (a scenario is covered by
# its outcome too) and whether the rail was made to report it: a notification for the
# payout's submission (psp_reference) and that status that is not one of its scenario's own
# steps (those are named `{payout_id}:{track}:{index}`, planner.py): POST
# /sandbox/payouts/{id}/simulate's (`sim_…`), or any other callback signed for the rail.
# One row per distinct (scenario, submitted, statuses, codes, forced, copy): few rows however
# many payouts.
_SCENARIO_WALKS_SQL = """
WITH moves AS (
    SELECT e.payout_id, e.number, e.data->>'scenario' AS scenario, e.data->>'status' AS status,
           e.data->>'failure_code' AS failure_code, e.data->>'psp_reference' AS psp_reference,
           EXISTS (SELECT 1 FROM ipn_notification n
                    WHERE n.psp_reference = e.data->>'psp_reference' AND n.status = e.data->>'status'
                      AND NOT starts_with(n.id, e.payout_id || ':')) AS simulated
      FROM outbox_event e
     WHERE e.merchant = $1 AND e.payout_id IS NOT NULL AND e.type LIKE 'payout.%'
), walked AS (
    SELECT payout_id, scenario, bool_or(psp_reference IS NOT NULL) AS submitted,
           array_agg(status ORDER BY number) AS statuses, array_agg(failure_code ORDER BY number) AS codes,
           array_agg(simulated ORDER BY number) AS simulated
      FROM moves
     GROUP BY payout_id, scenario
)
SELECT w.scenario, w.submitted OR coalesce(p.scenario = w.scenario AND p.psp_reference IS NOT NULL, false)
       AS submitted, w.statuses, w.codes, w.simulated, coalesce(p.scenario = w.scenario, false) AS follows,
       CASE WHEN p.scenario = w.scenario THEN p.script END AS script, count(*) AS n
  FROM walked w LEFT JOIN payout p ON p.id = w.payout_id
 GROUP BY 1, 2, 3, 4, 5, 6, 7
"""

# From the merchant's events (indexed by merchant) to their deliveries and attempts
# (indexed by event and by delivery).
_EVENT_ATTEMPTS_SQL = """
SELECT e.type,
       count(*) FILTER (WHERE a.status_code BETWEEN 200 AND 299) AS acknowledged,
       count(*) FILTER (WHERE a.status_code IS NULL OR a.status_code NOT BETWEEN 200 AND 299) AS failed
FROM webhook_attempt a
JOIN webhook_delivery d ON d.id = a.delivery
JOIN outbox_event e ON e.id = d.event
WHERE e.merchant = $1
GROUP BY e.type ORDER BY e.type
"""

_COUNT_ERROR_SQL = """
INSERT INTO merchant_error_count (merchant, code, count, last_at) VALUES ($1, $2, 1, $3)
ON CONFLICT (merchant, code) DO UPDATE SET count = merchant_error_count.count + 1, last_at = EXCLUDED.last_at
"""


async def of_merchant(merchant_id: str) -> Coverage:
    await problems_heard()  # the error codes this process answered a moment ago are counted
    table = scenarios.table()
    known = [*table.scenarios, *await own_scenarios.of_merchant(merchant_id)]  # the built-in ones, then its own
    operator: Counter[str] = Counter()
    walks = await db.fetch(_SCENARIO_WALKS_SQL, merchant_id)
    # A scenario of its own the merchant deleted: its payouts carry their copy.
    gone = sorted({r["scenario"] for r in walks} - {s.name for s in known})
    if gone:
        known += [scenarios.from_script(script) for script in await payout_rows.scripts_of(merchant_id, gone)]
    by_name = {s.name: s for s in known}
    walked = judge_walks(walks, lambda walk: _walked(walk, by_name))
    for statuses, n in await payout_rows.status_histories(merchant_id):
        for name, count in operator_moves(statuses).items():
            operator[name] += count * n
    operator["simulate"] = await payout_rows.simulated_notifications(merchant_id)
    events = [CoverageEventType(type=r["type"], acknowledged=r["acknowledged"], failed=r["failed"])
              for r in await db.fetch(_EVENT_ATTEMPTS_SQL, merchant_id)]
    errors = await db.fetch("SELECT code, count FROM merchant_error_count WHERE merchant = $1 ORDER BY code",
                            merchant_id)
    return Coverage(
        merchant_id=merchant_id,
        scenarios=[CoverageScenario(name=s.name, title=s.title, payouts=walked.followed[s.name],
                                    reached_end=walked.ended[s.name],
                                    stopped_at=[st for st in states.STATUSES if st in walked.stopped[s.name]],
                                    simulated_to=sorted(walked.forced[s.name]))
                   for s in known],
        scenarios_reached=[s.name for s in known if walked.ended[s.name]],
        event_types=events,
        events_acknowledged=[e.type for e in events if e.acknowledged],
        events_only_failed=[e.type for e in events if not e.acknowledged],
        error_codes=[CoverageErrorCode(code=r["code"], count=r["count"]) for r in errors],
        operator_paths=[CoverageOperatorPath(name=name, count=operator[name]) for name in OPERATOR_PATHS],
        faults=await verdict.of_merchant(merchant_id),
    )


def _walked(walk, by_name: dict[str, scenarios.Scenario]) -> scenarios.Scenario | None:
    """The scenario a walk went through, to judge it by: the payout's own copy of a
    merchant's scenario, or the built-in one by name. A scenario the payout left when a
    reinitiation picked another is no longer in its row: the one of that name now (or
    another payout's copy of a deleted one). None: a scenario since removed from the table."""
    if walk["follows"]:
        return scenarios.from_script(walk["script"]) if walk["script"] is not None else scenarios.table().named(
            walk["scenario"])
    return by_name.get(walk["scenario"])


COUNT_DEADLINE_S = 2.0


async def count_error(scope: dict, error: ApiError) -> None:
    """Problem listener (registered by the app): count the code against the merchant whose
    key made the request. Requests without a merchant (no key, a bad key, the admin) are
    nobody's coverage."""
    principal = scope.get("state", {}).get("principal")
    merchant_id = getattr(principal, "merchant_id", None)
    if not merchant_id:
        return
    try:
        # On a connection of its own: the task inherits the request's context, whose
        # transaction (the idempotency middleware's) rolls back because of this very problem.
        # A short deadline: with the database frozen a count would hold a task and a
        # connection for the whole statement deadline.
        async with db.pooled(COUNT_DEADLINE_S) as connection:
            await connection.execute(_COUNT_ERROR_SQL, merchant_id, error.code, now(), timeout=COUNT_DEADLINE_S)
    except Exception:  # the response is already sent; a lost count must not raise into the server
        log.warning("could not count error %s for merchant %s", error.code, merchant_id, exc_info=True)
