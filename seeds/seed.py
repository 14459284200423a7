"""Seed data: the bank and wallet directory, two demo merchants with documented test
keys, and the admin key. Running it again changes nothing that exists."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import db, onboarding
from sandbox.auth import keys as auth
from sandbox.core.ids import new_id
from sandbox.directory import service as directory
from sandbox.merchants import service as merchants

HERE = Path(__file__).resolve().parent
DEMO_OPENING_BALANCE = 1_000_000_00  # PKR 1,000,000.00

# Documented test keys (README, docs/getting-started.md): safe to publish, they only ever unlock this sandbox.
DEMO_MERCHANTS = [
    ("mch_demo_alpha", "Demo Merchant Alpha", "sk_test_alpha_demo_key_0000000000000001"),
    ("mch_demo_beta", "Demo Merchant Beta", "sk_test_beta__demo_key_0000000000000002"),
]


@dataclass
class SeedReport:
    admin_key: str | None  # None when the admin key existed before and was not given again
    admin_key_created: bool
    merchants: list[tuple[str, str, str]] = field(default_factory=list)  # (id, name, key)


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


async def seed_admin(admin_key: str | None) -> tuple[str | None, bool]:
    """Make sure an admin key exists. A given key is added if new; with none given and
    no admin key yet, a random one is made. Returns (key to show, created)."""
    if admin_key:
        if not auth.well_formed(admin_key):  # `sandbox up` says so before it starts anything
            raise ValueError(f"the admin key must be {auth.PREFIX_LENGTH} to {auth.MAX_KEY_LENGTH} characters long")
        known = await db.fetchval("SELECT 1 FROM api_key WHERE prefix = $1", auth.key_prefix(admin_key))
        if not known:
            await auth.store_key(admin_key, "admin", None, new_id("key"))
        return admin_key, not known
    if await db.fetchval("SELECT 1 FROM api_key WHERE role = 'admin' AND revoked_at IS NULL"):
        return None, False
    key = auth.generate_key("admin")
    await auth.store_key(key, "admin", None, new_id("key"))
    return key, True


async def seed_demo_merchants() -> list[tuple[str, str, str]]:
    for merchant_id, name, key in DEMO_MERCHANTS:
        if not await merchants.exists(merchant_id):
            # Kept: their keys are documented, so retention never removes them.
            await onboarding.open_merchant(name, DEMO_OPENING_BALANCE, merchant_id=merchant_id, api_key=key, keep=True)
    # Those seeded before retention existed are marked too (a no-op once they are).
    await db.execute("UPDATE merchant SET keep = true WHERE id = ANY($1::text[]) AND NOT keep",
                     [m[0] for m in DEMO_MERCHANTS])
    return list(DEMO_MERCHANTS)


async def seed(admin_key: str | None = None) -> SeedReport:
    await seed_directory()
    shown, created = await seed_admin(admin_key)
    report = SeedReport(admin_key=shown, admin_key_created=created)
    report.merchants = await seed_demo_merchants()
    return report


async def seed_shared() -> None:
    """Everything but the admin key: what any number of data dirs may start with."""
    await seed_directory()
    await seed_demo_merchants()
