"""Account verification: a deterministic title from the account number; accounts whose
last four digits are 0003 (the account-closed scenario) are reported closed."""

from __future__ import annotations

import hashlib

import msgspec

from sandbox.directory import service as directory
from sandbox.payouts import destinations

CLOSED_SUFFIX = "0003"
_FIRST = ["Ali", "Ayesha", "Bilal", "Fatima", "Hamza", "Hira", "Imran", "Maryam", "Omar", "Sana",
          "Usman", "Zainab", "Ahmed", "Nida", "Kamran", "Rabia"]
_LAST = ["Raza", "Khan", "Malik", "Qureshi", "Sheikh", "Butt", "Chaudhry", "Siddiqui", "Hussain",
         "Javed", "Mirza", "Abbasi", "Farooq", "Iqbal", "Akhtar", "Shah"]


def title_for(number: str) -> str:
    digest = hashlib.sha256(number.encode()).digest()
    return f"{_FIRST[digest[0] % len(_FIRST)]} {_LAST[digest[1] % len(_LAST)]}"


async def verify(dest) -> tuple[bool, str | None, str | None]:
    """(valid, account_title, reason). Malformed destinations raise a 400."""
    book = await directory.get()
    _, number = destinations.validate(
        msgspec.to_builtins(dest), book.banks_by_code, book.bank_by_iban_code, book.wallet_codes, prefix="body"
    )
    if number[-4:] == CLOSED_SUFFIX:
        return False, None, "account_closed"
    return True, title_for(number), None
