"""`sandbox make-batch`: a valid payout batch CSV that mixes every scenario of the
scenario table and every kind of destination (bank account, IBAN, wallet)."""

from __future__ import annotations

import csv
import secrets
from pathlib import Path

from sandbox.batches.rows import COLUMNS
from sandbox.payouts.model import scenarios
from sandbox.payouts.model.destinations import iban_check_digits


def _destination(kind: int, suffix: str, n: int) -> dict:
    if kind == 0:
        return {"type": "bank", "bank_code": "HBL", "account_number": f"10{n % 10**8:08d}{suffix}"}
    if kind == 1:
        bban = f"MEZN{n % 10**12:012d}{suffix}"
        return {"type": "bank", "iban": f"PK{iban_check_digits('PK', bban)}{bban}"}
    return {"type": "wallet", "wallet_code": "JAZZCASH", "account_number": f"03{n % 10**5:05d}{suffix}"}


def write(path: Path, rows: int) -> dict[str, int]:
    """Write `rows` payouts; returns how many follow each scenario."""
    suffixes = [(s.name, s.suffix) for s in scenarios.table().scenarios if s.suffix]
    run = secrets.token_hex(4)
    per_scenario: dict[str, int] = {}
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for n in range(rows):
            name, suffix = suffixes[n % len(suffixes)]
            per_scenario[name] = per_scenario.get(name, 0) + 1
            writer.writerow({
                "reference": f"b{run}-{n + 1}",
                "amount": f"{1 + n % 9}.{n % 100:02d}",
                "account_title": "Ayesha Khan",
                "description": f"batch row {n + 1}",
                **_destination((n // len(suffixes)) % 3, suffix, n),
            })
    return per_scenario
