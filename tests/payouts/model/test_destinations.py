"""Destination rules: bank code + 10–16 digit account, Pakistani IBAN checked
mod-97 whose bank code is in the directory, or wallet code + 03XXXXXXXXX."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.core.errors import ValidationFailed
from sandbox.payouts.model.destinations import (
    iban_check_digits,
    iban_checksum_ok,
    iban_problem,
    normalise_iban,
    validate,
)

DIRECTORY = json.loads((Path(__file__).resolve().parents[3] / "seeds" / "directory.json").read_text())
BANKS = {b["code"]: b for b in DIRECTORY["banks"]}
IBAN_CODES = {b["iban_code"]: b["code"] for b in DIRECTORY["banks"]}
WALLETS = {w["code"] for w in DIRECTORY["wallets"]}


def make_iban(iban_code: str, account: str = "0000001123456702") -> str:
    bban = iban_code + account
    return "PK" + iban_check_digits("PK", bban) + bban


def check(dest: dict) -> tuple[dict, str]:
    return validate(dest, BANKS, IBAN_CODES, WALLETS)


def refused(dest: dict) -> dict[str, str]:
    """The field errors of a refused destination, by field."""
    with pytest.raises(ValidationFailed) as info:
        check(dest)
    assert info.value.status == 400 and info.value.code == "validation_error"
    assert info.value.errors
    return {e.field: e.message for e in info.value.errors}


# --- IBAN -------------------------------------------------------------------------------

def test_design_example_iban_is_valid():
    assert iban_problem("PK36SCBL0000001123456702") is None
    assert make_iban("SCBL") == "PK36SCBL0000001123456702"


@pytest.mark.parametrize("iban_code, code", [("HABB", "HBL"), ("UNIL", "UBL"), ("MEZN", "MEEZAN"),
                                             ("SCBL", "SCB"), ("NBPA", "NBP"), ("MPBL", "HMB")])
def test_valid_iban_per_bank(iban_code, code):
    assert BANKS[code]["iban_code"] == iban_code
    iban = make_iban(iban_code, "1234567890120001")
    assert len(iban) == 24
    assert iban_checksum_ok(iban)
    assert iban_problem(iban) is None
    out, number = check({"type": "bank", "iban": iban, "account_title": "Ali Raza"})
    assert out == {"type": "bank", "bank_code": code, "iban": iban, "account_title": "Ali Raza"}
    assert number == iban and number[-4:] == "0001"


@pytest.mark.parametrize("bank", DIRECTORY["banks"], ids=lambda b: b["code"])
def test_every_directory_bank_has_a_usable_iban_code(bank):
    out, _ = check({"type": "bank", "iban": make_iban(bank["iban_code"])})
    assert out["bank_code"] == bank["code"]


def test_iban_with_letters_in_account_part():
    iban = make_iban("HABB", "00ABCD0000000001")
    assert iban_problem(iban) is None


@given(st.sampled_from(sorted(IBAN_CODES)), st.from_regex(r"[0-9]{16}", fullmatch=True))
def test_built_ibans_always_validate(iban_code, account):
    iban = make_iban(iban_code, account)
    assert iban_problem(iban) is None
    assert check({"type": "bank", "iban": iban})[0]["bank_code"] == IBAN_CODES[iban_code]


@given(st.sampled_from(sorted(IBAN_CODES)), st.from_regex(r"[0-9]{16}", fullmatch=True),
       st.integers(min_value=2, max_value=98))
def test_any_other_check_digits_fail(iban_code, account, digits):
    """Check digits 02..98 (the only ones ISO 13616 produces): exactly one is right."""
    iban = make_iban(iban_code, account)
    if digits == int(iban[2:4]):
        digits = 2 if digits == 98 else digits + 1
    wrong = iban[:2] + f"{digits:02d}" + iban[4:]
    assert not iban_checksum_ok(wrong)
    assert iban_problem(wrong) == "the check digits do not match (mod-97)"


def test_single_digit_typo_is_caught():
    iban = make_iban("HABB", "1234567890123456")
    typo = iban[:-1] + str((int(iban[-1]) + 1) % 10)
    assert iban_problem(typo) == "the check digits do not match (mod-97)"
    assert "mod-97" in refused({"type": "bank", "iban": typo})["destination.iban"]


OUT_OF_RANGE = [
    ("PK97HABB1000000000000078", "PK00HABB1000000000000078"),
    ("PK98HABB1000000000000060", "PK01HABB1000000000000060"),
    ("PK02HABB1000000000000042", "PK99HABB1000000000000042"),
]


@pytest.mark.parametrize("right, wrong", OUT_OF_RANGE)
def test_check_digits_97_98_02_are_right_here(right, wrong):
    assert iban_problem(right) is None
    assert iban_checksum_ok(wrong)  # congruent mod 97: the checksum alone cannot tell


@pytest.mark.parametrize("wrong", [w for _, w in OUT_OF_RANGE])
def test_out_of_range_check_digits_refused(wrong):
    assert iban_problem(wrong) is not None


def test_wrong_check_digits_refused():
    assert "mod-97" in refused({"type": "bank", "iban": "PK00HABB0000001123456702"})["destination.iban"]


@pytest.mark.parametrize("iban", [make_iban("HABB")[:-1], make_iban("HABB") + "1", "PK36", ""])
def test_wrong_length(iban):
    assert iban_problem(iban) == "a Pakistani IBAN has 24 characters"


@pytest.mark.parametrize("iban", ["GB82WEST12345698765432XX", "PKAAHABB0000001123456702", "PK3612340000001123456702"])
def test_wrong_shape(iban):
    assert len(iban) == 24
    assert iban_problem(iban) == "must look like PKkk BBBB followed by 16 digits or letters"


def test_lower_case_and_spaces_normalised():
    iban = make_iban("UNIL", "0000001123450002")
    spaced = " ".join(iban[i:i + 4] for i in range(0, 24, 4)).lower()
    assert normalise_iban(spaced) == iban
    out, number = check({"type": "bank", "iban": spaced})
    assert out["iban"] == iban and out["bank_code"] == "UBL"
    assert number[-4:] == "0002"


def test_unknown_iban_bank_code():
    iban = make_iban("ZZZZ")
    assert iban_problem(iban) is None  # well-formed, just not a bank we know
    assert "ZZZZ" in refused({"type": "bank", "iban": iban})["destination.iban"]


def test_iban_with_matching_bank_code_accepted():
    out, _ = check({"type": "bank", "iban": make_iban("HABB"), "bank_code": "HBL"})
    assert out["bank_code"] == "HBL"


def test_iban_with_other_bank_code_refused():
    assert "HBL" in refused({"type": "bank", "iban": make_iban("HABB"), "bank_code": "UBL"})["destination.bank_code"]


def test_iban_and_account_number_refused():
    errors = refused({"type": "bank", "iban": make_iban("HABB"), "account_number": "12345678900001"})
    assert "destination.account_number" in errors


# --- bank account -------------------------------------------------------------------------

@pytest.mark.parametrize("account", ["1" * 10, "1234567890123", "1" * 16, "0000000000"])
def test_bank_account_lengths_accepted(account):
    out, number = check({"type": "bank", "bank_code": "HBL", "account_number": account})
    assert out == {"type": "bank", "bank_code": "HBL", "account_number": account}
    assert number == account


@pytest.mark.parametrize("account", ["1" * 9, "1" * 17, "12345 67890", "12345678a0", "", "١٢٣٤٥٦٧٨٩٠"])
def test_bank_account_refused(account):
    assert refused({"type": "bank", "bank_code": "HBL", "account_number": account})[
        "destination.account_number"] == "must be 10 to 16 digits"


def test_unknown_bank_code():
    assert "directory" in refused({"type": "bank", "bank_code": "XXX", "account_number": "12345678900001"})[
        "destination.bank_code"]


def test_bank_requires_code_and_account():
    errors = refused({"type": "bank"})
    assert {"destination.bank_code", "destination.account_number"} <= set(errors)


def test_every_problem_reported_at_once():
    errors = refused({"type": "bank", "bank_code": "XXX", "account_number": "1"})
    assert set(errors) == {"destination.bank_code", "destination.account_number"}


def test_prefix_is_used_for_field_paths():
    with pytest.raises(ValidationFailed) as info:
        validate({"type": "bank", "bank_code": "XXX", "account_number": "12345678900001"}, BANKS, IBAN_CODES,
                 WALLETS, prefix="body")
    assert info.value.errors[0].field == "body.bank_code"


# --- wallet -------------------------------------------------------------------------------

@pytest.mark.parametrize("wallet", sorted(WALLETS))
def test_wallet_accepted(wallet):
    out, number = check({"type": "wallet", "wallet_code": wallet, "account_number": "03001230005",
                         "account_title": "Sana Khan"})
    assert out == {"type": "wallet", "wallet_code": wallet, "account_number": "03001230005",
                   "account_title": "Sana Khan"}
    assert number[-4:] == "0005"


@pytest.mark.parametrize("number", ["0300123000", "030012300011", "04001230001", "3001230001", "+923001230001",
                                    "0300-1230001", "0300 1230001", "03a01230001"])
def test_wallet_number_refused(number):
    assert "03001234567" in refused({"type": "wallet", "wallet_code": "EASYPAISA", "account_number": number})[
        "destination.account_number"]


def test_unknown_wallet_code():
    assert "directory" in refused({"type": "wallet", "wallet_code": "PAYPAL", "account_number": "03001230001"})[
        "destination.wallet_code"]


def test_wallet_requires_code_and_number():
    assert {"destination.wallet_code", "destination.account_number"} <= set(refused({"type": "wallet"}))


def test_bank_code_is_not_a_wallet():
    assert "destination.wallet_code" in refused(
        {"type": "wallet", "wallet_code": "HBL", "account_number": "03001230001"})


@pytest.mark.parametrize("kind", ["card", None, "BANK"])
def test_unknown_type(kind):
    assert refused({"type": kind, "bank_code": "HBL", "account_number": "12345678900001"})["destination.type"]
