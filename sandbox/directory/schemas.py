import msgspec


class BankOut(msgspec.Struct):
    code: str
    name: str
    iban_code: str


class WalletOut(msgspec.Struct):
    code: str
    name: str


class RaastOut(msgspec.Struct):
    """Raast: pay to a mobile-number alias; the directory resolves it to an account at one
    of the banks, the same one every time."""

    alias_format: str
    resolves_to: str


class DirectoryOut(msgspec.Struct):
    banks: list[BankOut]
    wallets: list[WalletOut]
    raast: RaastOut
