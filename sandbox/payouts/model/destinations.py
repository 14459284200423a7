"""Destination rules: bank account (bank code + 10–16 digits), Pakistani IBAN (mod-97,
bank code known), mobile wallet (wallet code + 03XXXXXXXXX) or Raast alias (03XXXXXXXXX,
resolved by the directory to a bank account)."""

from __future__ import annotations

import re

from sandbox.core.errors import FieldError, ValidationFailed
from sandbox.directory import raast

ACCOUNT_RE = re.compile(r"^[0-9]{10,16}$")
# A Pakistani mobile number: a wallet's account number, a Raast alias.
MOBILE_NUMBER = "03[0-9]{9}"
WALLET_NUMBER_RE = re.compile(f"^{MOBILE_NUMBER}$")
# The fields each destination type may carry (one shape of the spec's oneOf each; a bank
# destination is either bank_code + account_number or iban, checked below).
FIELDS = {
    "bank": {"type", "bank_code", "account_number", "iban", "account_title"},
    "wallet": {"type", "wallet_code", "account_number", "account_title"},
    "raast": {"type", "alias", "account_title"},
}
PK_IBAN_RE = re.compile(r"^PK[0-9]{2}[A-Z]{4}[0-9A-Z]{16}$")


def iban_checksum_ok(iban: str) -> bool:
    """ISO 13616 mod-97: move the first four characters to the end, letters to numbers."""
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits that make `country + ?? + bban` valid (for tests and demos)."""
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{98 - int(digits) % 97:02d}"


def normalise_iban(raw: str) -> str:
    return raw.replace(" ", "").upper()


def iban_problem(iban: str) -> str | None:
    if len(iban) != 24:
        return "a Pakistani IBAN has 24 characters"
    if not PK_IBAN_RE.fullmatch(iban):
        return "must look like PKkk BBBB followed by 16 digits or letters"
    # ISO 13616 check digits are 02..98; 00, 01 and 99 can pass mod-97 but never occur.
    if not 2 <= int(iban[2:4]) <= 98 or not iban_checksum_ok(iban):
        return "the check digits do not match (mod-97)"
    return None


def validate(dest: dict, banks_by_code: dict[str, dict], iban_codes: dict[str, str],
             wallets: set[str], prefix: str = "destination") -> tuple[dict, str]:
    """Check a destination (already shaped by the schema) and return it normalised,
    with the number whose last four digits choose the scenario."""
    errors: list[FieldError] = []

    def bad(field: str, message: str) -> None:
        errors.append(FieldError(field=f"{prefix}.{field}", message=message))

    kind = dest.get("type", "")  # "" (no type) is refused below, like any unknown one
    out: dict = {"type": kind}
    number = ""
    if kind == "bank":
        iban, bank_code, account = dest.get("iban"), dest.get("bank_code"), dest.get("account_number")
        if iban is not None:
            if account is not None:
                bad("account_number", "send either iban or bank_code + account_number, not both")
            iban = normalise_iban(iban)
            problem = iban_problem(iban)
            if problem:
                bad("iban", problem)
            else:
                code = iban_codes.get(iban[4:8])
                if code is None:
                    bad("iban", f"bank code {iban[4:8]} is not in the directory")
                elif bank_code is not None and bank_code != code:
                    bad("bank_code", f"does not match the IBAN's bank ({code})")
                else:
                    out.update(bank_code=code, iban=iban)
                    number = iban
        else:
            if bank_code is None:
                bad("bank_code", "is required (or send an iban)")
            elif bank_code not in banks_by_code:
                bad("bank_code", "is not a bank in the directory (GET /api/v1/directory)")
            if account is None:
                bad("account_number", "is required (or send an iban)")
            elif not ACCOUNT_RE.fullmatch(account):
                bad("account_number", "must be 10 to 16 digits")
            if not errors:
                assert account is not None  # a missing one is among the errors
                out.update(bank_code=bank_code, account_number=account)
                number = account
    elif kind == "wallet":
        wallet_code, account = dest.get("wallet_code"), dest.get("account_number")
        if wallet_code is None:
            bad("wallet_code", "is required")
        elif wallet_code not in wallets:
            bad("wallet_code", "is not a wallet in the directory (GET /api/v1/directory)")
        if account is None:
            bad("account_number", "is required")
        elif not WALLET_NUMBER_RE.fullmatch(account):
            bad("account_number", "must be a mobile number like 03001234567")
        if not errors:
            assert account is not None  # a missing one is among the errors
            out.update(wallet_code=wallet_code, account_number=account)
            number = account
    elif kind == "raast":
        alias = dest.get("alias")
        if alias is None:
            bad("alias", "is required")
        elif not WALLET_NUMBER_RE.fullmatch(alias):
            bad("alias", "must be a mobile number like 03001234567")
        else:
            bank_code, account = raast.resolve(alias, list(banks_by_code))
            out.update(alias=alias, bank_code=bank_code, account_number=account)
            number = alias
    else:
        bad("type", "must be bank, wallet or raast")
    for other in sorted(set(dest) - FIELDS.get(kind, set(dest))):
        if dest[other] is not None:
            bad(other, f"is not part of a {kind} destination")
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    if dest.get("account_title") is not None:
        out["account_title"] = dest["account_title"]
    return out, number


BBAN_DIGITS = 16  # a Pakistani IBAN's account part: the characters after its four-letter bank code


def account_of(dest: dict) -> tuple[str, str, str]:
    """The account a stored destination (`validate`'s answer) pays into, as one key: "the
    same account" wherever the sandbox asks it (a second payout after a lost answer is a
    double payment when it pays the same account the same amount).

    The title is not part of it: a bank credits the account whatever case or spacing its
    holder's name is written in. A bank account is its bank and its number as an IBAN
    carries it (16 characters, zero-padded), so the IBAN, the account number and the Raast
    alias resolved to that account (`validate` stores the account it resolved) are one
    account; a wallet is its wallet and mobile number. Normalised again here (`normalise_iban`,
    upper case) so a destination stored before a rule changed reads the same."""
    kind = dest.get("type")
    if kind == "wallet":
        return "wallet", str(dest.get("wallet_code")).upper(), str(dest.get("account_number"))
    iban = dest.get("iban")
    if iban:
        iban = normalise_iban(iban)
        return "bank", str(dest.get("bank_code")).upper(), iban[8:]
    return "bank", str(dest.get("bank_code")).upper(), str(dest.get("account_number")).zfill(BBAN_DIGITS)
