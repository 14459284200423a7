"""Account verification: a deterministic title from the account number. An account whose
last four digits pick a scenario that fails for a reason the bank knows before any payment
(a closed account, a name that does not match the title) is reported so here too, with the
scenario's `failure_code` as the reason."""

from __future__ import annotations

import hashlib

import msgspec

from sandbox.directory import service as directory
from sandbox.payouts.model import destinations, scenarios
from sandbox.payouts.store.own_scenarios import of_merchant as own_scenarios_of

# Reasons a verification sees: the account is closed (no title), or its title is not the
# beneficiary's name (the bank's title is shown, so the caller can see the mismatch).
CLOSED = "account_closed"
TITLE_MISMATCH = "incorrect_account_holder_name"
_FIRST = ["Ali", "Ayesha", "Bilal", "Fatima", "Hamza", "Hira", "Imran", "Maryam", "Omar", "Sana",
          "Usman", "Zainab", "Ahmed", "Nida", "Kamran", "Rabia"]
_LAST = ["Raza", "Khan", "Malik", "Qureshi", "Sheikh", "Butt", "Chaudhry", "Siddiqui", "Hussain",
         "Javed", "Mirza", "Abbasi", "Farooq", "Iqbal", "Akhtar", "Shah"]


def title_for(number: str) -> str:
    digest = hashlib.sha256(number.encode()).digest()
    return f"{_FIRST[digest[0] % len(_FIRST)]} {_LAST[digest[1] % len(_LAST)]}"


async def verify(dest, merchant_id: str, own_scenarios: bool) -> tuple[bool, str | None, str | None]:
    """(valid, account_title, reason), as the scenario the number picks says (the
    merchant's own too, when it has some). Malformed destinations raise a 400."""
    book = await directory.get()
    _, number = destinations.validate(
        msgspec.to_builtins(dest), book.banks_by_code, book.bank_by_iban_code, book.wallet_codes, prefix="body"
    )
    own = await own_scenarios_of(merchant_id) if own_scenarios else ()
    reason = scenarios.table().for_account(number, own).failure_code
    if reason == CLOSED:
        return False, None, CLOSED
    if reason == TITLE_MISMATCH:
        return False, title_for(number), TITLE_MISMATCH
    return True, title_for(number), None
