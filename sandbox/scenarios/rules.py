"""Whether a merchant's timeline can run: each step checked against the payout state
machine (`planner.transition`'s rule, `states.NEXT`) as the worker would walk it, so
a timeline the machine does not allow is refused when it is made (a 422 naming the step
and the move), never a payout stuck later. Pure: no database."""

from __future__ import annotations

from sandbox.core.errors import FieldError, ImpossibleTimeline
from sandbox.payouts.model import states
from sandbox.payouts.model.scenarios import RELEASE_MOVES_AT_ONCE, Scenario, Step, release_delay
from sandbox.scenarios.schemas import ScenarioCreate, StepIn


def _walk(steps: list[StepIn], field: str, start: str, submitted: bool) -> list[FieldError]:
    """The first broken step of `steps` walked from `start` (an empty list: none)."""
    status = start
    for i, step in enumerate(steps):
        where = f"{field}[{i}]"
        if step.via == "ipn" and (step.status not in states.RAIL_OUTCOMES or step.submit or not submitted):
            return [FieldError(where, "`via: ipn` is for success, failed or returned, after a step that"
                                      " submits (not on it): the bank reports on a payout it was given")]
        submitted = submitted or step.submit
        if step.status == status:
            if not step.submit or step.via is not None:
                return [FieldError(where, f"stays {status}: a step that keeps the status must submit to the"
                                          " rail (and waits for the bank), with no `via`")]
        elif step.status not in states.NEXT[states.PayoutStatus(status)]:
            allowed = sorted(s.value for s in states.NEXT[states.PayoutStatus(status)])
            return [FieldError(where, f"{status} → {step.status} is not a move of the payout state machine"
                                      f" (from {status}: {', '.join(allowed) or 'nothing, it is terminal'})")]
        if status == states.FAILED:
            return [FieldError(where, "failed ends the steps: only the merchant's reinitiation follows it")]
        if step.status in states.SUBMITTED_ONLY and not submitted:
            return [FieldError(where, f"{step.status} needs the payout submitted to the rail: set `submit` on"
                                      " this step or one before it")]
        if step.status == states.FAILED and step.failure_code is None:
            return [FieldError(where, "failed needs a `failure_code` (GET /sandbox/failure-codes)")]
        if step.failure_code is not None and step.status not in states.WITH_FAILURE_CODE:
            return [FieldError(where, "`failure_code` is for failed or returned")]
        if step.status == states.ON_HOLD and i != len(steps) - 1:
            return [FieldError(where, "on_hold waits for an admin: it is the last step; what follows a"
                                      " release goes in `after_release`")]
        status = step.status
    if steps and status not in states.STEPS_MAY_END_IN:
        return [FieldError(f"{field}[{len(steps) - 1}]",
                           f"the steps end in {status}, where nothing moves the payout on: end in success,"
                           " failed, returned, on_hold, or a submitted pending or processing payout (it"
                           " waits for the bank)")]
    return []


def _submits(steps: list[StepIn]) -> bool:
    return any(step.submit for step in steps)


def checked(body: ScenarioCreate) -> Scenario:
    """The scenario `body` describes, as the planner walks it. Raises ImpossibleTimeline."""
    errors = _walk(body.steps, "steps", states.PENDING, submitted=False)
    holds = bool(body.steps) and body.steps[-1].status == states.ON_HOLD
    if not errors and holds and not body.after_release:
        errors = [FieldError("after_release", "the steps end on_hold: give the steps an admin's release starts")]
    if not errors and body.after_release and not holds:
        errors = [FieldError("after_release", "only a scenario whose steps end on_hold has steps after release")]
    if not errors and body.after_release:
        errors = _walk(body.after_release, "after_release", states.ON_HOLD, submitted=_submits(body.steps))
    if not errors and release_delay(body.after_release):
        errors = [FieldError("after_release[0].after_s", RELEASE_MOVES_AT_ONCE)]
    if errors:
        raise ImpossibleTimeline(f"{errors[0].field}: {errors[0].message}", errors=errors)
    path = [states.PENDING.value]
    for step in body.steps:
        if step.status != path[-1]:
            path.append(step.status)
    # The scenario's reason, as the built-in table states it: its first step's that has one.
    failure = next((s.failure_code for s in [*body.steps, *body.after_release] if s.failure_code is not None), None)
    return Scenario(name=body.name, suffix=body.suffix, title=body.title, description=body.description, path=path,
                    steps=[_step(s) for s in body.steps], failure_code=failure,
                    after_release=[_step(s) for s in body.after_release], custom=True)


def _step(step: StepIn) -> Step:
    return Step(status=step.status, after_s=step.after_s, submit=step.submit, reason=step.reason,
                failure_code=step.failure_code, via=step.via)
