"""The bank and wallet directory: seeded, never changed by the API, so each process
reads it once and keeps it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sandbox import db


@dataclass(frozen=True)
class Directory:
    banks: list[dict]
    wallets: list[dict]

    # Built once per directory (each payout created looks them up).
    @cached_property
    def banks_by_code(self) -> dict[str, dict]:
        return {b["code"]: b for b in self.banks}

    @cached_property
    def bank_by_iban_code(self) -> dict[str, str]:
        return {b["iban_code"]: b["code"] for b in self.banks}

    @cached_property
    def wallet_codes(self) -> set[str]:
        return {w["code"] for w in self.wallets}


_cached: Directory | None = None


async def get() -> Directory:
    global _cached
    if _cached is None or not _cached.banks:
        banks = await db.fetch("SELECT code, name, iban_code FROM bank ORDER BY code")
        wallets = await db.fetch("SELECT code, name FROM wallet ORDER BY code")
        _cached = Directory(banks=[dict(r) for r in banks], wallets=[dict(r) for r in wallets])
    return _cached


def forget() -> None:
    global _cached
    _cached = None
