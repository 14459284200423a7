"""Where a worker's webhook attempts run: its own bounded pool of tasks, not arq's job
slots, so receivers that hang never hold the slots payout steps and other merchants'
jobs need. The relay and the delivery job only claim a delivery and hand it here.

Memory is bounded: the pool holds at most `size` attempts (in flight or waiting for a
slot), each a task with its event's body. Whatever is due beyond that waits in the
database, unleased, and the pool takes it from there itself (`refill`, the oldest due
first) whenever it has drained to half, and on every sweep: a backlog of any length
costs rows, not memory, and no job or lease per waiting attempt.

Fairness between merchants: at most `per_merchant` attempts of one merchant are on the
wire at once (see `Slots`); its other attempts wait in its own line, which holds
nothing anyone else needs. A merchant whose line is full (`line_per_merchant`) has the
rest left in the database, due and unleased (the relay, a delivery job and `refill` all
skip it until its line has room): a merchant with thousands of deliveries to endpoints
that hang costs the worker at most its line.

A worker that stops hands back what it had not finished: each lease is released and
the attempt scheduled again at once, as arq hands back the jobs it cancels. From the
moment the stop begins (`stop_taking`, at the signal) the pool starts no attempt: one
started then would go out on a client about to close, and its lease would outlive the
worker. Whatever a claim hands it then goes straight back, due as it was."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Iterator

from sandbox.core.clock import now
from sandbox.events import wakeups
from sandbox.webhooks.delivery import attempts, sender
from sandbox.webhooks.delivery.slots import Slots
from sandbox.webhooks.store import deliveries
from sandbox.webhooks.store.deliveries import Target
from sandbox.webhooks.store.recorder import Recorder

log = logging.getLogger("sandbox.webhooks")


class DeliveryPool:
    def __init__(self, http: sender.WebhookClient, slots: Slots, size: int, line_per_merchant: int) -> None:
        self.http = http
        self.slots = slots
        self.size = max(1, size)
        self.line_per_merchant = max(1, min(line_per_merchant, self.size))
        self._tasks: dict[asyncio.Task, Target] = {}
        self._per_merchant: Counter[str] = Counter()
        self._refill: asyncio.Task | None = None
        self.recorder = Recorder()
        # Whether the last refill left due deliveries behind (it filled the pool): only
        # then does a draining pool look again before the next sweep, so an idle pool
        # costs no query per attempt.
        self._backlog = False
        # Asked for while a refill ran: attempts finished, or deliveries were handed back,
        # after its query had counted; it looks once more before it ends.
        self._again = False
        # The tokens of claims that failed, any of which may have committed (`leasing`).
        self.in_doubt: set[str] = set()
        # Attempts that could not run before sending anything (`attempts.attempt`), and
        # deliveries `take` could not hand back: still leased to this pool, handed back by
        # the next sweep rather than when the lease runs out (a minute and a half:
        # PostgreSQL killed as a relay's attempts began kept its deliveries that long).
        self.dropped: list[Target] = []
        # One relay at a time through this pool (`relay.run`): whether one runs, and
        # whether another was woken meanwhile (the running one then looks again).
        self.relaying = False
        self.relay_again = False
        self.closing = False  # the worker is stopping: no attempt starts any more

    @contextlib.contextmanager
    def leasing(self) -> Iterator[str]:
        """The lease token for one claim (a relay's deliveries, one delivery, a refill).
        A claim that fails in any way may still have committed: a connection lost after
        the commit loses only the answer, and the rows stay leased to a caller that never
        got them. Its token is kept, and the next sweep releases whatever it leased
        (`release_in_doubt`), so those deliveries go out within a round rather than when
        their lease runs out."""
        token = deliveries.new_token()
        try:
            yield token
        except BaseException:
            self.in_doubt.add(token)
            raise

    async def release_in_doubt(self) -> None:
        if self.in_doubt:
            tokens = list(self.in_doubt)
            await deliveries.release(tokens)
            self.in_doubt.difference_update(tokens)
        if self.dropped:
            dropped, self.dropped = self.dropped, []
            try:
                await deliveries.postpone(dropped, now())  # under their own leases only
            except BaseException:
                self.dropped.extend(dropped)
                raise

    def stop_taking(self) -> None:
        """The stop has begun: start no attempt from now on (see the module's note)."""
        self.closing = True

    def room(self) -> int:
        """How many more attempts the pool takes now (none once it is stopping)."""
        return 0 if self.closing else max(0, self.size - len(self._tasks))

    def merchant_room(self, merchant: str) -> int:
        """How many more attempts of `merchant` its line takes now."""
        return max(0, self.line_per_merchant - self._per_merchant[merchant])

    async def take(self, targets: list[Target]) -> int:
        """Start the attempts that fit; the others (their merchant's line or the pool is
        full) go back to the database still due, in one statement, for a later refill.
        Returns how many started."""
        started, back = 0, []
        for target in targets:
            if self.room() and self._per_merchant[target.merchant] < self.line_per_merchant:
                self._start(target)
                started += 1
            else:
                back.append(target)
        if back:
            self._backlog = not self.closing
            try:
                await deliveries.postpone(back, None)
            except BaseException:
                # Still leased to this pool (PostgreSQL lost as they were handed back): the
                # next sweep hands them back, not their lease's end (seen: PostgreSQL killed
                # under load left 11 such deliveries a minute and a half).
                self.dropped.extend(back)
                raise
        return started

    def _start(self, target: Target) -> None:
        self._per_merchant[target.merchant] += 1
        task = asyncio.create_task(attempts.attempt(self.http, self.slots, self.recorder, target))
        self._tasks[task] = target
        task.add_done_callback(self._done)

    async def deliver(self, delivery_id: str) -> bool:
        """Start the next attempt of one delivery, if it is due and nobody else is making it.
        A full pool leaves it in the database, due, for a refill to take."""
        if not self.room():
            self._backlog = not self.closing
            return False
        # Not of a merchant whose line is full: its delivery stays due, unleased, for a
        # refill once the line has room (no lease taken only to be handed back).
        full = deliveries.full(self._per_merchant, self.line_per_merchant)
        with self.leasing() as token:
            target = await deliveries.claim(delivery_id, token, skip=full)
        if target is None:
            self._backlog = self._backlog or bool(full)
            return False
        return await self.take([target]) == 1

    def _done(self, task: asyncio.Task) -> None:
        target = self._tasks.pop(task)
        if not task.cancelled() and task.exception() is None and task.result():
            self.dropped.append(target)
        self._per_merchant[target.merchant] -= 1
        left = self._per_merchant[target.merchant]
        if not left:
            del self._per_merchant[target.merchant]
        # Refill in steps of half a line or half the pool, not a query per attempt.
        if self._backlog and len(self._tasks) <= self.size // 2 and left <= self.line_per_merchant // 2:
            self.refill()

    def refill(self) -> None:
        """Take due deliveries from the database until the pool is full or none are due
        (in the background; one refill at a time); none once the pool is stopping."""
        if self.closing:
            return
        self._backlog = self._again = True
        if self._refill is None or self._refill.done():
            self._refill = asyncio.create_task(self._take_due())

    async def wait_refilled(self) -> None:
        if self._refill is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._refill)

    async def _take_due(self) -> None:
        try:
            while self._again and (room := self.room()):
                self._again = False
                with self.leasing() as token:
                    claim = await deliveries.claim_due(room, self.line_per_merchant, dict(self._per_merchant), token)
                await self.take(claim.targets)
                if len(claim.targets) >= room:
                    # The pool is full: the next refill comes when it has drained to half
                    # (`_done`). Looking again now would claim only the few attempts that
                    # finished during this claim, a query each (under a backlog, a claim
                    # query every 20 ms for ten rows took a third of PostgreSQL's time).
                    return
                if not self._again and claim.leased < room:
                    # Nothing more is due, or only for merchants whose lines are full: look
                    # again as those drain.
                    self._backlog = any(n >= self.line_per_merchant // 2 for n in self._per_merchant.values())
                    return
                # Short, but attempts finished or deliveries were handed back meanwhile
                # (what looked leased or absent to this claim may be due now), or the claim
                # closed deliveries of disabled endpoints, the longest due, in place of what
                # is due behind them (a pool's worth of those had stopped the refill until
                # the next sweep: tests/webhooks/delivery/test_backlog.py).
                self._again = True
        except Exception:  # the next sweep refills
            log.warning("could not take due webhook deliveries", exc_info=True)

    async def close(self) -> None:
        """Stop: start nothing more, cancel what is unfinished and hand each back (its
        lease released, its attempt due at once) for the next worker; one log line says
        what was handed back. Needs PostgreSQL; Redis only to wake another worker at once
        (without it, a worker's sweep takes them: at start-up, then every few seconds)."""
        self.stop_taking()
        if self._refill is not None:
            self._refill.cancel()
            with contextlib.suppress(BaseException):
                await self._refill
        unfinished = list(self._tasks.items())
        for task, _ in unfinished:
            task.cancel()
        await asyncio.gather(*(task for task, _ in unfinished), return_exceptions=True)
        await self.release_left_in_doubt()
        if unfinished:
            await hand_back([target for _, target in unfinished])

    async def release_left_in_doubt(self) -> None:
        """At a stop: release what failed or cancelled claims may have leased (a relay job
        cancelled mid-claim, say); a failure is one line, not a traceback."""
        doubtful = len(self.in_doubt)
        try:
            await self.release_in_doubt()
        except Exception as exc:  # their leases run out, and a sweeper takes them then
            log.warning("could not release %d webhook leases in doubt (%s: %s); a sweeper takes their deliveries "
                        "once the leases run out", doubtful, type(exc).__name__, exc)


async def hand_back(targets: list[Target]) -> None:
    """Give back the leases of `targets` with each attempt due now, wake a worker for each,
    and say so in one line (a failure too, in that line: a stop is no crash)."""
    try:
        returned = await deliveries.postpone(targets, now())
    except Exception as exc:
        log.warning("could not hand back %d webhook deliveries (%s: %s); a sweeper takes them once their leases "
                    "run out", len(targets), type(exc).__name__, exc)
        return
    ids = [t.delivery_id for t in targets if t.delivery_id in returned]
    woken, unwoken = 0, None
    for target in (t for t in targets if t.delivery_id in returned):
        try:
            await wakeups.schedule_attempt(target.delivery_id, target.attempt, None, postponed=True)
            woken += 1
        except Exception as exc:  # the rows are due: a sweep takes them
            unwoken = f"{type(exc).__name__}: {exc}"
            break
    log.info("handed back %d webhook deliveries, each due again at once%s", len(ids),
             f" (no worker woken for them: {unwoken}; the next sweep takes them)" if unwoken else "",
             extra={"delivery_ids": ids, "lost_meanwhile": len(targets) - len(ids), "woken": woken})
