"""Rolling a team's or a merchant's keys, as a PSP's "roll key": a new key is made (shown
once, in the answer) and the old ones keep working for `overlap_minutes`, then stop; an
overlap of 0 revokes them at once.

A rolled key's `revoked_at` is set to the end of its overlap: the key check refuses a key
whose `revoked_at` has passed (auth/keys.py), and each API process's key cache forgets the
key at that moment by itself (Principal.expires_at): nothing needs to happen at the end of
the overlap. The roll itself changes `api_key`, which every API process hears (the NOTIFY of
auth/cache.py), and it answers only once every process listening has forgotten its keys:
a revoke (overlap 0) refuses the old key on every replica from the answer on."""

from __future__ import annotations

from typing import Annotated

import msgspec

from sandbox import db
from sandbox.auth import cache as auth_cache
from sandbox.auth import keys
from sandbox.core.errors import Conflict, NotFound
from sandbox.core.ids import new_id
from sandbox.core.timestamps import iso
from sandbox.core.types import said
from sandbox.teams import scope as teams

MAX_OVERLAP_MINUTES = 7 * 24 * 60  # a week, as a real PSP allows


class KeyRollIn(msgspec.Struct, forbid_unknown_fields=True):
    overlap_minutes: Annotated[int, msgspec.Meta(ge=0, le=MAX_OVERLAP_MINUTES), said(
        "How long the old keys keep working, in minutes (at most 10080, a week); 0 (the default) revokes "
        "them at once")] = 0


class RolledKey(msgspec.Struct):
    api_key: Annotated[str, said("The new key (shown only here)")]
    overlap_minutes: Annotated[int, said("How long the old keys keep working")]
    previous_keys: Annotated[int, said("How many keys were rolled (working until `previous_keys_expire_at`)")]
    previous_keys_expire_at: Annotated[str | None, said(
        "When the old keys stop working (RFC 3339); null when there was none")]


# The keys still working (or in an overlap that ends later than this roll's) end then.
_ROLL_SQL = """
UPDATE api_key SET revoked_at = now() + make_interval(mins => $2)
 WHERE {owner} AND (revoked_at IS NULL OR revoked_at > now() + make_interval(mins => $2))
RETURNING revoked_at"""


async def _roll(owner: str, owner_id: str, overlap_minutes: int, role: str, merchant_id: str | None,
                team_id: str | None) -> RolledKey:
    new_key = keys.generate_key(role)
    async with db.transaction():
        ended = await db.fetch(_ROLL_SQL.format(owner=owner), owner_id, overlap_minutes)
        await keys.store_key(new_key, role, merchant_id, new_id("key"), team_id)
        await db.after_commit(auth_cache.forget_all)  # answered once every API process forgot
    return RolledKey(api_key=new_key, overlap_minutes=overlap_minutes, previous_keys=len(ended),
                     previous_keys_expire_at=iso(ended[0]["revoked_at"]) if ended else None)


async def roll_team_keys(team_id: str, body: KeyRollIn) -> RolledKey:
    if team_id == teams.OPERATOR_TEAM:
        raise Conflict("The operator's team has no team key: the operator's own key is SANDBOX_ADMIN_KEY, "
                               "rotated by changing it and running `sandbox seed` (docs/security.md)")
    if not await db.fetchval("SELECT 1 FROM team WHERE id = $1", team_id):
        raise NotFound(f"No team {team_id}")
    return await _roll("team = $1 AND role = 'admin'", team_id, body.overlap_minutes, "admin", None, team_id)


async def roll_merchant_keys(merchant_id: str, body: KeyRollIn, team: str | None) -> RolledKey:
    await teams.require(merchant_id, team)
    return await _roll("merchant = $1 AND role = 'merchant'", merchant_id, body.overlap_minutes, "merchant",
                       merchant_id, None)
