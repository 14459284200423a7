import msgspec


class BankOut(msgspec.Struct):
    code: str
    name: str
    iban_code: str


class WalletOut(msgspec.Struct):
    code: str
    name: str


class DirectoryOut(msgspec.Struct):
    banks: list[BankOut]
    wallets: list[WalletOut]


class VerifyAccountOut(msgspec.Struct):
    valid: bool
    account_title: str | None
    reason: str | None
