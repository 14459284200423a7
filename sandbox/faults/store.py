"""A merchant's fault rules, and taking the one a request matches."""

from __future__ import annotations

from datetime import timedelta

from sandbox import db
from sandbox.auth import cache as auth_cache
from sandbox.core.clock import iso, now
from sandbox.core.errors import Conflict, NotFound
from sandbox.core.ids import new_id
from sandbox.core.pagination import clamp, cut, decode_cursor
from sandbox.faults.kinds import default_delay
from sandbox.faults.schemas import FaultRule, FaultRuleCreate, FaultRuleList
from sandbox.settings import get_settings

API_PREFIX = "/api/v1"
_COLUMNS = "id, method, path, fault, times, remaining, delay_s, created_at"


def _relative(path: str) -> str:
    """Paths below /api/v1, without a trailing slash, so `/api/v1/payouts/` and `/payouts` agree."""
    if path.startswith(API_PREFIX + "/"):
        path = path[len(API_PREFIX):]
    return path.rstrip("/") or "/"


def _api(row) -> FaultRule:
    return FaultRule(id=row["id"], object="fault_rule", method=row["method"], path=row["path"], fault=row["fault"],
                     times=row["times"], remaining=row["remaining"], delay_s=row["delay_s"],
                     created_at=iso(row["created_at"]))


async def create(merchant_id: str, body: FaultRuleCreate) -> FaultRule:
    delay = body.delay_s if body.delay_s is not None else default_delay(body.fault)
    most = get_settings().fault_rules_max
    async with db.transaction():
        # One creation at a time per merchant, so two at once cannot both pass the count.
        await db.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"fault_rules:{merchant_id}")
        armed = await db.fetchval(
            "SELECT count(*) FROM fault_rule WHERE merchant = $1 AND remaining > 0", merchant_id)
        if armed >= most:
            raise Conflict(f"A merchant may have at most {most} fault rules with uses left"
                           " (SANDBOX_FAULT_RULES_MAX); delete one first (DELETE /sandbox/faults/{rule_id})")
        row = await db.fetchrow(
            "INSERT INTO fault_rule (id, merchant, method, path, fault, times, remaining, delay_s, created_at)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) RETURNING {_COLUMNS}",
            new_id("flt"), merchant_id, body.method, _relative(body.path), body.fault, body.times, delay, now(),
        )
    # The merchant's keys say whether it has rules: this process forgets them at the commit
    # (its next request must see the rule), the others when PostgreSQL tells them.
    await db.after_commit(auth_cache.forget_all)
    return _api(row)


async def list_page(merchant_id: str, limit: int, cursor: str | None) -> FaultRuleList:
    """Oldest first, the order the rules are taken in."""
    limit = clamp(limit)
    rows = await db.fetch(
        f"SELECT number, {_COLUMNS} FROM fault_rule WHERE merchant = $1"
        " AND ($2::bigint IS NULL OR number > $2) ORDER BY number LIMIT $3",
        merchant_id, decode_cursor(cursor, "f"), limit + 1)
    page = cut(rows, limit, "f")
    return FaultRuleList(data=[_api(r) for r in page.rows], has_more=page.has_more, next_cursor=page.next_cursor)


async def delete(merchant_id: str, rule_id: str) -> None:
    if await db.execute("DELETE FROM fault_rule WHERE merchant = $1 AND id = $2", merchant_id, rule_id) == "DELETE 0":
        raise NotFound(f"No fault rule {rule_id}")
    await db.after_commit(auth_cache.forget_all)


async def prune_spent(older_than: timedelta) -> int:
    """Delete spent rules made longer ago than `older_than`: the bound on rules counts those
    with uses left, so without this a client making and spending rules would keep adding
    rows. Returns how many were deleted."""
    # Looked for first: the table's statement trigger tells every API process to forget
    # its cached keys on any DELETE, even of no row, and this runs every few seconds.
    spent = "remaining = 0 AND created_at < now() - $1::interval"
    if not await db.fetchval(f"SELECT EXISTS (SELECT 1 FROM fault_rule WHERE {spent})", older_than):
        return 0
    done = await db.execute(f"DELETE FROM fault_rule WHERE {spent}", older_than)
    return int(done.split()[-1])


# The oldest rule with uses left that matches, spent by one, in one statement; SKIP LOCKED:
# two requests at once take two uses (or the next rule), never the same one twice.
_TAKE_SQL = """
UPDATE fault_rule SET remaining = remaining - 1
 WHERE number = (SELECT number FROM fault_rule
                  WHERE merchant = $1 AND remaining > 0 AND method IN ($2, '*')
                    AND (path = $3 OR path = $4 OR path = '/' OR starts_with($4, path || '/'))
                  ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING fault, delay_s
"""


async def take(merchant_id: str, method: str, route: str, path: str) -> tuple[str, float] | None:
    """The fault the merchant's rules give this request, spending one use; None: none matches."""
    row = await db.fetchrow(_TAKE_SQL, merchant_id, method, _relative(route), _relative(path))
    return (row["fault"], row["delay_s"]) if row is not None else None
