"""What merchants and admins do to a payout after it exists: reinitiate a failed one,
ask the rail for an outcome, approve, reject or release. Each is one transaction, opened
here. An action that starts (part of) the scenario again — reinitiate, approve, release —
goes through the engine's `start_track`, which schedules the steps; one that ends the
payout — reject — is a single `service.transition`, as every final status change is:
the engine only walks scenarios."""

from __future__ import annotations

import secrets

import msgspec
from msgspec.structs import replace

from sandbox import db
from sandbox import enqueue as queue
from sandbox.clocks import store as clocks
from sandbox.core.clock import now
from sandbox.core.errors import Conflict
from sandbox.directory import service as directory
from sandbox.payouts import destinations, engine, scenarios, schedule, service, states
from sandbox.payouts.errors import ReinitiationLimit
from sandbox.payouts.repository import PayoutRow
from sandbox.payouts.schemas import DestinationIn, Payout, SimulateAccepted
from sandbox.rail import client as rail


async def reinitiate(payout_id: str, merchant_id: str, destination: DestinationIn | None) -> Payout:
    """From `failed` only: lock the funds again and walk the scenario from the start,
    optionally to a corrected destination (whose account number picks the scenario)."""
    corrected = None
    if destination is not None:
        book = await directory.get()
        corrected = destinations.validate(
            msgspec.to_builtins(destination), book.banks_by_code, book.bank_by_iban_code, book.wallet_codes
        )
    async with db.transaction():
        row = replace(await service.get_row(payout_id, merchant_id, lock=True), psp_reference=None, failure_code=None)
        if row.status in states.REINITIABLE and not states.may_reinitiate(row.status, service.statuses(row)):
            raise ReinitiationLimit(states.MAX_REINITIATIONS)
        if corrected is not None:
            dest, number = corrected
            row = replace(row, destination=msgspec.json.encode(dest).decode(),
                          scenario=scenarios.table().for_account(number).name)
        row = await engine.start_track(row, states.PENDING, schedule.MAIN, allowed_from=states.REINITIABLE,
                                       reason="reinitiated")
    return service.to_api(row)


async def simulate(payout_id: str, merchant_id: str, status: states.RailOutcome,
                   failure_code: str | None) -> SimulateAccepted:
    """Have the rail send a signed callback with this outcome to the IPN service."""
    row = await service.get_row(payout_id, merchant_id)
    if row.psp_reference is None:
        raise Conflict("The payout has not been submitted to the rail yet (no psp_reference)")
    if not states.rail_may_report(row.status, status):
        raise Conflict(f"The payout is {row.status}; the rail cannot report {status} for it")
    notification_id = "sim_" + secrets.token_hex(12)
    await queue.enqueue(rail.NOTIFY_JOB, row.psp_reference, notification_id, status, failure_code)
    return SimulateAccepted(payout_id=payout_id, notification_id=notification_id, status=status, delivery="queued")


async def _locked_on_its_clock(payout_id: str) -> PayoutRow:
    """The payout, locked, for an admin to act on at the time of its merchant's clock."""
    row = await service.get_row(payout_id, None, lock=True)
    await clocks.follow(row.merchant)
    return row


async def approve(payout_id: str, reason: str | None) -> Payout:
    async with db.transaction():
        row = await _locked_on_its_clock(payout_id)
        row = await engine.start_track(row, states.PENDING, schedule.MAIN, allowed_from=states.APPROVABLE,
                                       reason=reason or "approved by an admin")
    return service.to_api(row)


async def reject(payout_id: str, reason: str | None) -> Payout:
    async with db.transaction():
        row = await _locked_on_its_clock(payout_id)
        row = await service.transition(row, states.REJECTED, reason=reason or "rejected by an admin", at=now(),
                                       allowed_from=states.REJECTABLE)
    return service.to_api(row)


async def release(payout_id: str, reason: str | None) -> Payout:
    """Lift a hold: the scenario's `after_release` steps start at once."""
    async with db.transaction():
        row = await _locked_on_its_clock(payout_id)
        row = await engine.start_track(row, states.ON_HOLD, schedule.AFTER_RELEASE, allowed_from=states.RELEASABLE,
                                       reason=reason or "released by an admin", apply_first_step=True)
    return service.to_api(row)
