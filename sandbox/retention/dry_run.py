"""The dry run (GET /admin/retention): the merchants the next passes remove, in their
order, each with what its removal would remove now, counted by the conditions the removal
deletes by (`removal.REMOVAL`) and the keys it finds in Redis (`redis_keys`)."""

from __future__ import annotations

from sandbox.core.timestamps import iso
from sandbox.retention import redis_keys, removal
from sandbox.retention.schemas import IdleMerchant, RetentionCounts, RetentionDryRun
from sandbox.settings import get_settings


async def listed(limit: int, team: str | None) -> RetentionDryRun:
    days = get_settings().retention_days
    before = removal.cutoff(days)
    rows = await removal.idle(before, limit + 1, team) if days > 0 else []
    rows, has_more = rows[:limit], len(rows) > limit
    admin_key_ids = await removal.admin_keys() if rows else []
    keys = await redis_keys.of([r["id"] for r in rows])
    data, totals = [], RetentionCounts(merchants=len(rows), rows={}, redis_keys=0)
    for r in rows:
        counts = {t: n for t, n in (await removal.rows_of(r["id"], admin_key_ids)).items() if n}
        found = len(keys.get(r["id"], []))
        data.append(IdleMerchant(merchant_id=r["id"], name=r["name"], team_id=r["team"],
                                 last_active_at=iso(r["last_active_at"]), rows=counts, redis_keys=found))
        for table, n in counts.items():
            totals.rows[table] = totals.rows.get(table, 0) + n
        totals.redis_keys += found
    return RetentionDryRun(retention_days=days, idle_before=iso(before), has_more=has_more, data=data,
                           totals=totals)
