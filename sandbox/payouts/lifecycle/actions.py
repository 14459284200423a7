"""What merchants and admins do to a payout after it exists: cancel it, reinitiate a
failed one, ask the rail for an outcome, approve, reject or release. Each is one
transaction, opened here: the payout is locked (on its merchant's clock), the planner
decides (`planner`), the writer writes (`writer.write`) and the answer is the payout as
the plan left it."""

from __future__ import annotations

import secrets

import msgspec

from sandbox import db
from sandbox import enqueue as queue
from sandbox.clocks import store as clocks
from sandbox.core.errors import Conflict
from sandbox.directory import service as directory
from sandbox.payouts.lifecycle import planner, schedule, service, writer
from sandbox.payouts.model import destinations, scenarios, states
from sandbox.payouts.model.rows import PayoutRow
from sandbox.payouts.model.schemas import DestinationIn, Payout, SimulateAccepted
from sandbox.payouts.store import own_scenarios
from sandbox.rail import client as rail


async def cancel(payout_id: str, merchant_id: str, reason: str | None) -> Payout:
    """The merchant cancels a payout the bank has not seen (see `states.may_cancel`)."""
    async with db.transaction():
        row = await _locked(payout_id, merchant_id)
        return await _write(planner.cancel(row, reason, schedule.now()))


async def reinitiate(payout_id: str, merchant_id: str, destination: DestinationIn | None) -> Payout:
    """From `failed` only: lock the funds again and walk the scenario from the start,
    optionally to a corrected destination (whose account number picks the scenario)."""
    reroute = None
    if destination is not None:
        book = await directory.get()
        dest, number = destinations.validate(
            msgspec.to_builtins(destination), book.banks_by_code, book.bank_by_iban_code, book.wallet_codes
        )
        own = await own_scenarios.of_merchant(merchant_id)
        reroute = (msgspec.json.encode(dest).decode(), scenarios.table().for_account(number, own))
    async with db.transaction():
        row = await _locked(payout_id, merchant_id)
        return await _write(planner.reinitiate(row, schedule.now(), reroute))


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


async def approve(payout_id: str, reason: str | None, team: str | None = None) -> Payout:
    async with db.transaction():
        row = await _locked(payout_id, team=team)
        return await _write(planner.approve(row, reason, schedule.now()))


async def reject(payout_id: str, reason: str | None, team: str | None = None) -> Payout:
    async with db.transaction():
        row = await _locked(payout_id, team=team)
        return await _write(planner.reject(row, reason, schedule.now()))


async def release(payout_id: str, reason: str | None, team: str | None = None) -> Payout:
    """Lift a hold: the scenario's `after_release` steps start at once."""
    async with db.transaction():
        row = await _locked(payout_id, team=team)
        return await _write(planner.release(row, reason, schedule.now()))


async def _locked(payout_id: str, merchant_id: str | None = None, team: str | None = None) -> PayoutRow:
    """The payout, locked until the transaction ends. Another merchant's payout is as
    missing as one that never existed. An admin (`merchant_id` None) acts on any
    merchant's payout at that merchant's clock's time; a merchant's request follows its
    own clock already (sandbox/requests/journal.py). A team key's admin (`team`) acts on
    its team's merchants' payouts only: another team's is missing too."""
    row = await service.get_row(payout_id, merchant_id, lock=True, team=team)
    if merchant_id is None:
        await clocks.follow(row.merchant)
    return row


async def _write(plan: planner.Plan) -> Payout:
    # A person's action always changes the payout: its row's updated_at is the plan's time.
    payout = await writer.write([plan], plan.row.updated_at)
    assert payout is not None  # one plan was written
    return payout
