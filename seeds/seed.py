"""Seed data: the bank and wallet directory, the operator's admin key and (unless
SANDBOX_DEMO_MERCHANTS is false) two demo merchants with documented test keys. Running it
again changes nothing that exists, but for two things an operator changes on purpose:

- a given admin key (SANDBOX_ADMIN_KEY) becomes the only operator key: every other one is
  revoked, so rotating the Secret and seeding again rotates the key (docs/security.md);
- with demo merchants off, demo merchants an earlier seed made are revoked and removed, so
  an instance that once published their keys stops answering them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sandbox import db, onboarding
from sandbox.auth import keys as auth
from sandbox.core.clock import wall_now
from sandbox.core.ids import new_id
from sandbox.directory import service as directory
from sandbox.merchants import service as merchants
from sandbox.settings import get_settings

HERE = Path(__file__).resolve().parent
DEMO_OPENING_BALANCE = 1_000_000_00  # PKR 1,000,000.00

# Documented test keys (README, docs/getting-started.md): safe to publish only where they
# unlock a sandbox of one person's own (`sandbox up`, the image alone, the tests); a shared
# deployment sets SANDBOX_DEMO_MERCHANTS=false.
DEMO_MERCHANTS = [
    ("mch_demo_alpha", "Demo Merchant Alpha", "sk_test_alpha_demo_key_0000000000000001"),
    ("mch_demo_beta", "Demo Merchant Beta", "sk_test_beta__demo_key_0000000000000002"),
]
DEMO_KEYS = frozenset(key for _, _, key in DEMO_MERCHANTS)


@dataclass
class SeedReport:
    admin_key: str | None  # None when no admin key was made or given
    admin_key_created: bool
    merchants: list[tuple[str, str, str]] = field(default_factory=list)  # (id, name, key)
    admin_keys_revoked: int = 0  # older operator keys the given one replaced
    demo_merchants_removed: list[str] = field(default_factory=list)


async def seed_directory() -> None:
    data = json.loads((HERE / "directory.json").read_text())
    async with db.transaction():
        for bank in data["banks"]:
            await db.execute(
                "INSERT INTO bank (code, name, iban_code) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING",
                bank["code"], bank["name"], bank["iban_code"],
            )
        for wallet in data["wallets"]:
            await db.execute(
                "INSERT INTO wallet (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING",
                wallet["code"], wallet["name"],
            )
    directory.forget()


# The operator's own keys: admin keys of no team (a team key is an admin key of its team).
_OPERATOR_KEYS = "role = 'admin' AND team IS NULL"


async def seed_admin(admin_key: str | None, *, make: bool = True) -> tuple[str | None, bool, int]:
    """Make sure the operator has a key. A given key becomes the operator's only key (added
    if new, live again if it was revoked; every other operator key revoked at once). With
    none given and no live operator key, a random one is made (unless `make` is false).
    Returns (the key, whether it was added, how many older keys were revoked)."""
    if not admin_key:
        if not make or await db.fetchval(f"SELECT 1 FROM api_key WHERE {_OPERATOR_KEYS} AND revoked_at IS NULL"):
            return None, False, 0
        key = auth.generate_key("admin")
        await auth.store_key(key, "admin", None, new_id("key"))
        return key, True, 0
    if not auth.well_formed(admin_key):  # `sandbox up` says so before it starts anything
        raise ValueError(f"the admin key must be {auth.PREFIX_LENGTH} to {auth.MAX_KEY_LENGTH} characters long")
    prefix = auth.key_prefix(admin_key)
    async with db.transaction():
        row = await db.fetchrow("SELECT role, team, key_hash, revoked_at FROM api_key WHERE prefix = $1", prefix)
        if row is None:
            await auth.store_key(admin_key, "admin", None, new_id("key"))
        elif row["role"] != "admin" or row["team"] is not None:
            raise ValueError("the admin key begins like another key of this sandbox (its first "
                             f"{auth.PREFIX_LENGTH} characters): choose another")
        elif row["key_hash"] != auth.hash_key(admin_key) or row["revoked_at"] is not None:
            # Its prefix is an older operator key's, or it was rotated away once: it is the key now.
            await db.execute("UPDATE api_key SET key_hash = $2, revoked_at = NULL WHERE prefix = $1",
                             prefix, auth.hash_key(admin_key))
        # An UPDATE of api_key notifies every API process's key cache (sandbox/auth/cache.py).
        revoked = await db.fetch(
            f"UPDATE api_key SET revoked_at = now() WHERE {_OPERATOR_KEYS} AND prefix <> $1"
            " AND (revoked_at IS NULL OR revoked_at > now()) RETURNING id", prefix)
    return admin_key, row is None, len(revoked)


async def seed_demo_merchants() -> list[tuple[str, str, str]]:
    for merchant_id, name, key in DEMO_MERCHANTS:
        if not await merchants.exists(merchant_id):
            # Kept: their keys are documented, so retention never removes them.
            await onboarding.open_merchant(name, DEMO_OPENING_BALANCE, merchant_id=merchant_id, api_key=key, keep=True)
    # Those seeded before retention existed are marked too (a no-op once they are).
    await db.execute("UPDATE merchant SET keep = true WHERE id = ANY($1::text[]) AND NOT keep",
                     [m[0] for m in DEMO_MERCHANTS])
    return list(DEMO_MERCHANTS)


async def remove_demo_merchants() -> list[str]:
    """Demo merchants off: those an earlier seed made stop answering their published keys at
    once (revoked, which every API process's key cache hears), and are removed with all that
    is theirs, the way retention removes a merchant. The ids removed."""
    from sandbox.retention import removal

    ids = [m[0] for m in DEMO_MERCHANTS]
    await db.execute("UPDATE api_key SET revoked_at = now() WHERE merchant = ANY($1::text[]) AND revoked_at IS NULL",
                     ids)
    await db.execute("UPDATE merchant SET keep = false WHERE id = ANY($1::text[])", ids)
    removed = []
    for merchant_id in ids:
        if await removal.remove(merchant_id, wall_now() + timedelta(days=1)) is not None:
            removed.append(merchant_id)
    return removed


async def seed(admin_key: str | None = None, *, demo_merchants: bool | None = None,
               make_admin_key: bool = True) -> SeedReport:
    """`demo_merchants`: SANDBOX_DEMO_MERCHANTS unless given."""
    await seed_directory()
    shown, created, revoked = await seed_admin(admin_key, make=make_admin_key)
    report = SeedReport(admin_key=shown, admin_key_created=created, admin_keys_revoked=revoked)
    if get_settings().demo_merchants if demo_merchants is None else demo_merchants:
        report.merchants = await seed_demo_merchants()
    else:
        report.demo_merchants_removed = await remove_demo_merchants()
    return report


async def seed_shared() -> None:
    """Everything but the admin key: what any number of data dirs may start with (demo
    merchants included: a start with them off removes them from its copy)."""
    await seed_directory()
    await seed_demo_merchants()
