"""When a merchant was last active: a request made with one of its keys (the API's gate,
the dashboard's sign-in). Written to `merchant_activity` in real time (a merchant's own
test clock does not count), at most once every TOUCH_EVERY_S per merchant and API
process: a busy merchant's requests pay nothing here but a dictionary lookup, and the
first after a pause pays one upsert. Retention's idle periods are days, so minutes of
staleness are nothing."""

from __future__ import annotations

import time

import asyncpg

from sandbox import db

TOUCH_EVERY_S = 300.0
_MAX_REMEMBERED = 10_000  # merchants seen by this process; when full, start over

_touched: dict[str, float] = {}


async def seen(merchant_id: str) -> None:
    at = time.monotonic()
    last = _touched.get(merchant_id)
    if last is not None and at - last < TOUCH_EVERY_S:
        return
    if len(_touched) >= _MAX_REMEMBERED:
        _touched.clear()
    _touched[merchant_id] = at
    try:
        await db.execute(
            "INSERT INTO merchant_activity (merchant, at) VALUES ($1, now())"
            " ON CONFLICT (merchant) DO UPDATE SET at = excluded.at", merchant_id)
    except asyncpg.ForeignKeyViolationError:  # removed by retention since its key was cached
        _touched.pop(merchant_id, None)


def forget() -> None:
    """For tests that move a merchant's activity back in time behind the process's back."""
    _touched.clear()
