from typing import Annotated

import msgspec

from sandbox.core.types import said


class BankOut(msgspec.Struct):
    code: Annotated[str, said("The bank's code: a bank destination's `bank_code`")]
    name: Annotated[str, said("The bank's name")]
    iban_code: Annotated[str, said("The four letters that stand for the bank in an IBAN (characters 5 to 8)")]


class WalletOut(msgspec.Struct):
    code: Annotated[str, said("The wallet's code: a wallet destination's `wallet_code`")]
    name: Annotated[str, said("The wallet's name")]


class RaastOut(msgspec.Struct):
    """Raast: pay to a mobile-number alias; the directory resolves it to an account at one
    of the banks, the same one every time."""

    alias_format: Annotated[str, said("What an alias looks like: `03XXXXXXXXX`, a mobile number (03 and nine "
                                      "digits)")]
    resolves_to: Annotated[str, said("What an alias resolves to, in words")]


class DirectoryOut(msgspec.Struct):
    banks: Annotated[list[BankOut], said("Every bank a payout can go to, by code")]
    wallets: Annotated[list[WalletOut], said("Every mobile wallet a payout can go to, by code")]
    raast: RaastOut  # described by its own schema (a field's words would replace them there)
