"""Writing together what is handed over while a write is out: each item waits while the
write before it runs, then everything that came meanwhile goes in one write (one round
trip and one commit, where each was its own). Nothing waits for a batch to fill: an
item that finds no write under way leaves at the next turn of the loop, alone (or at
once, in its caller's task: `inline`).

Used where many tasks of one process write the same kind of thing: the webhook
attempts a worker records (webhooks/store/recorder.py), the Redis commands of writes that
committed (enqueue.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# The write gets the items and answers one result per item, in order: a value, or an
# exception for that item alone. An exception it raises is every item's.
Write = Callable[[list[T]], Awaitable[Sequence[R | Exception]]]


class Batcher(Generic[T, R]):
    """`inline`: an item that finds no write under way is written at once in its caller's
    task, not handed to a task of the batcher's (whose creation, future and wake-up cost
    as much again as a small write: the after-commit Redis call of a POST alone). Its
    write is then cancelled with its caller, as a write of the caller's own would be."""

    def __init__(self, write: Write[T, R], most: int | None = None, *, inline: bool = False) -> None:
        self._write = write
        self._most = most  # items a write, so one write stays short
        self._inline = inline
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task | None = None
        self._writing_inline = False
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, item: T) -> R:
        """`item` written (with whatever else came meanwhile): its result, or its exception."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (each test has its own): nothing carries over
            self._loop, self._waiting, self._task, self._writing_inline = loop, [], None, False
        running = self._writing_inline or (self._task is not None and not self._task.done())
        if self._inline and not running:
            return await self._write_inline(item)
        done: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, done))
        if not running:
            self._task = loop.create_task(self._run())
        return await done

    async def _write_inline(self, item: T) -> R:
        self._writing_inline = True
        try:
            result = (await self._write([item]))[0]
        finally:
            self._writing_inline = False
            if self._waiting:  # what came meanwhile goes in the next write
                self._task = asyncio.get_running_loop().create_task(self._run())
        if isinstance(result, Exception):
            raise result
        return result

    async def _run(self) -> None:
        while self._waiting:
            cut = self._most or len(self._waiting)
            batch, self._waiting = self._waiting[:cut], self._waiting[cut:]
            try:
                results: Sequence[R | Exception] = await self._write([item for item, _ in batch])
            except Exception as exc:  # every item of the batch gets it, as from a write of its own
                results = [exc] * len(batch)
            for (_, done), result in zip(batch, results, strict=True):
                if done.done():  # its caller was cancelled meanwhile
                    continue
                if isinstance(result, Exception):
                    done.set_exception(result)
                else:
                    done.set_result(result)
