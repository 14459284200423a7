"""Raast aliases: a mobile number (03XXXXXXXXX) that the directory resolves to a bank
account, the same account every time. The bank is chosen by a hash of the alias among
the seeded banks; the account number is the alias behind three zeros, so its last four
digits — which choose the scenario — are the alias' own."""

from __future__ import annotations

import hashlib

ALIAS_FORMAT = "03XXXXXXXXX"


def resolve(alias: str, bank_codes: list[str]) -> tuple[str, str]:
    """(bank_code, account_number) the alias points at."""
    codes = sorted(bank_codes)
    bank = codes[int.from_bytes(hashlib.sha256(alias.encode()).digest()[:4], "big") % len(codes)]
    return bank, "000" + alias
