"""Reading batch rows: CSV records or JSON items become `PayoutCreate` bodies, checked
with the same schema and destination rules as POST /payouts. A row that fails gets a
reason instead; it never stops the others."""

from __future__ import annotations

import re

import msgspec

from sandbox.core.errors import ValidationFailed, listing
from sandbox.core.types import in_words
from sandbox.directory import service as directory
from sandbox.payouts.model import destinations
from sandbox.payouts.model.schemas import PayoutCreate

COLUMNS = ("reference", "amount", "type", "bank_code", "wallet_code", "iban", "account_number", "alias",
           "account_title", "description")
REQUIRED = ("amount", "type")
DESTINATION = ("type", "bank_code", "wallet_code", "iban", "account_number", "alias", "account_title")
_AT = re.compile(r"^(?P<message>.*) - at `\$\.?(?P<path>[^`]*)`$")


def check_header(header: list[str]) -> list[str]:
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise ValidationFailed.field("file", f"unknown column(s) {listing(unknown)};"
                                             f" the columns are {', '.join(COLUMNS)}")
    missing = [n for n in REQUIRED if n not in names]
    if missing or len(set(names)) != len(names):
        raise ValidationFailed.field("file", "the header needs amount and type, each column once")
    return names


def split_error(exc: msgspec.ValidationError) -> tuple[str, str]:
    """msgspec's "message - at `$.path`" as (path, message)."""
    at = _AT.match(str(exc))
    return (at["path"], at["message"]) if at else ("", str(exc))


# msgspec quotes the client's own field names back ("unknown field `…`"); a reason is stored
# as text, and PostgreSQL refuses NUL in text (schemathesis found the 500), so control
# characters and lone surrogates are shown as "?" and a reason is kept short.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
REASON_MAX = 300


def _reason(exc: msgspec.ValidationError) -> str:
    path, message = split_error(exc)
    return _UNSAFE.sub("?", f"{path or 'item'}: {in_words(message)}")[:REASON_MAX]


class Checker:
    """POST /payouts' destination rules, with the directory's lookups built once."""

    def __init__(self, book: directory.Directory) -> None:
        self.banks, self.ibans, self.wallets = book.banks_by_code, book.bank_by_iban_code, book.wallet_codes

    def check(self, body: PayoutCreate) -> str | None:
        """Why this payout request would be refused by those rules, or None."""
        try:
            destinations.validate(msgspec.to_builtins(body.destination), self.banks, self.ibans, self.wallets)
        except ValidationFailed as exc:
            return exc.detail
        return None


async def checker() -> Checker:
    return Checker(await directory.get())


def from_csv(names: list[str], record: list[str]) -> tuple[PayoutCreate | None, str | None]:
    if len(record) != len(names):
        return None, f"expected {len(names)} fields, found {len(record)}"
    values = {n: v for n, v in zip(names, record, strict=True) if v != ""}
    body: dict = {k: values[k] for k in ("amount", "reference", "description") if k in values}
    body["destination"] = {k: values[k] for k in DESTINATION if k in values}
    try:
        return msgspec.convert(body, PayoutCreate), None
    except msgspec.ValidationError as exc:
        return None, _reason(exc)


_decode_item = msgspec.json.Decoder(PayoutCreate)


def from_json(raw: msgspec.Raw) -> tuple[PayoutCreate | None, str | None]:
    try:
        return _decode_item.decode(raw), None
    except msgspec.ValidationError as exc:
        return None, _reason(exc)
