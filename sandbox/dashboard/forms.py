"""HTML form fields → the very structs the API decodes (so the same rules apply), with
messages a person can read instead of msgspec's regular expressions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import msgspec

from sandbox.core.errors import ApiError
from sandbox.core.money import AmountError, parse_amount
from sandbox.core.types import in_words
from sandbox.payouts.model.scenarios import Scenario
from sandbox.payouts.model.schemas import (
    Destination,
    DestinationIn,
    PayoutCancel,
    PayoutCreate,
    ReviewDecision,
    SimulateOutcome,
)

LABELS = {
    "amount": "Amount",
    "destination": "Destination",
    "destination.type": "Destination",
    "destination.bank_code": "Bank",
    "destination.wallet_code": "Wallet",
    "destination.account_number": "Account number",
    "destination.iban": "IBAN",
    "destination.alias": "Raast alias",
    "destination.account_title": "Account title",
    "reference": "Reference",
    "description": "Description",
    "reason": "Reason",
    "status": "Outcome",
    "failure_code": "Failure code",
    "url": "URL",
    "events": "Events",
    "signing": "Signing",
    "file": "File",
}
# Where the dashboard says more than the API's own wording (sandbox/core/types.py): a
# code is picked from a list here, and a URL's pattern has no words in the API.
PATTERNS = {
    "destination.bank_code": "is not a bank in the directory",
    "destination.wallet_code": "is not a wallet in the directory",
    "url": "must be an http(s) URL like http://127.0.0.1:4000/hook (no credentials or fragment)",
    "name": "must be lower-case letters, digits and underscores, starting with a letter (like slow_return)",
    "suffix": "must be four digits, like 7001",
}
_AT = re.compile(r"^(?P<message>.*?) - at `\$\.?(?P<path>[^`]*)`$")
# A scenario's step as the API names it (`steps[1]`, `after_release[0].after_s`): the
# editor's rows are numbered from 1, and the message names both.
_STEP = re.compile(r"^(?P<list>steps|after_release)\[(?P<index>\d+)\]")

# Sample account numbers whose last four digits pick a scenario.
BANK_SAMPLE, WALLET_SAMPLE = "1234567890", "0300123"


class FormError(Exception):
    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("; ".join(messages))


def _words(path: str, message: str) -> str:
    """msgspec's message about a field, in words."""
    if "matching regex" in message and path in PATTERNS:
        return PATTERNS[path]
    if message.startswith("Invalid enum value"):
        return "is not one of the choices"
    return in_words(message)


def readable(reason: str | None) -> str:
    """A stored "path: message" reason (a batch row's, say) with the field's label and
    the message in words."""
    path, sep, message = (reason or "").partition(": ")
    if sep and (path in LABELS or "matching regex" in message):
        return f"{label(path)}: {_words(path, message)}"
    return reason or ""


def label(path: str) -> str:
    if step := _STEP.match(path):
        row = "Step" if step["list"] == "steps" else "After-release step"
        return f"{row} {int(step['index']) + 1} ({path})"
    return LABELS.get(path, path.replace("_", " ").capitalize())


def messages_of(error: ApiError | FormError) -> list[str]:
    if isinstance(error, FormError):
        return error.messages
    if error.errors:
        return [f"{label(e.field)}: {e.message}" for e in error.errors]
    return [error.detail]


def convert(data: dict, into: type):
    try:
        return msgspec.convert(data, into)
    except msgspec.ValidationError as exc:
        found = _AT.match(str(exc))
        message, path = (found["message"], found["path"]) if found else (str(exc), "")
        raise FormError([f"{label(path)}: {_words(path, message)}"]) from None


def _text(form: Mapping[str, str], name: str) -> str | None:
    value = (form.get(name) or "").strip()
    return value or None


def sample_account(kind: str, suffix: str) -> str:
    return (WALLET_SAMPLE if kind in MOBILE else BANK_SAMPLE) + suffix


def sample_suffixes(choices: Sequence[Scenario]) -> dict[str, str]:
    """Each scenario's name → the last four digits of the sample account number the form
    fills in for it: its suffix; for a scenario chosen only by name, four digits that pick
    no scenario (the form sends the name, so the number should not look as if it chose)."""
    taken = {s.suffix for s in choices if s.suffix}
    free = next(f"{n:04d}" for n in range(10_000) if f"{n:04d}" not in taken)
    return {s.name: s.suffix or free for s in choices}


# Destinations paid to a mobile number: a wallet's account number, a Raast alias.
MOBILE = ("wallet", "raast")


def _destination(kind: str, code: str | None, number: str | None) -> dict:
    """The API's destination from the form's choice ("bank:HBL", "wallet:EASYPAISA",
    "raast:") and the number typed (account number, mobile number or Raast alias)."""
    if kind == "raast":
        fields = {"alias": number}
    else:
        fields = {"account_number": number, ("wallet_code" if kind == "wallet" else "bank_code"): code}
    return {"type": kind, **{k: v for k, v in fields.items() if v}}


def payout_create(form: Mapping[str, str], suffix_of: Mapping[str, str]) -> PayoutCreate:
    """`destination` is "bank:HBL", "wallet:EASYPAISA" or "raast:"; an empty account number
    takes the chosen scenario's sample number (`suffix_of`: `sample_suffixes`). The scenario
    picked is sent by name, as `scenario` in POST /payouts: it wins over the number's last
    four digits, so the payout follows what the form showed (one chosen only by name too)."""
    kind, _, code = (form.get("destination") or "").partition(":")
    account = _text(form, "account_number")
    scenario = _text(form, "scenario")
    if account is None and scenario is not None and scenario in suffix_of:
        account = sample_account(kind, suffix_of[scenario])
    destination = _destination(kind, code, account)
    if title := _text(form, "account_title"):
        destination["account_title"] = title
    if account is None:
        raise FormError(["Account number: is required (or pick a scenario to fill one in)"])
    body: dict = {"amount": (_text(form, "amount") or "").replace(",", ""), "destination": destination}
    for name in ("reference", "description", "scenario"):
        if value := _text(form, name):
            body[name] = value
    try:
        parse_amount(body["amount"])
    except AmountError as exc:
        raise FormError([f"Amount: {exc}"]) from None
    return convert(body, PayoutCreate)


def new_destination(current: Destination, form: Mapping[str, str]) -> DestinationIn | None:
    """Reinitiate optionally to another account number at the same bank or wallet (or to
    another Raast alias)."""
    account = _text(form, "account_number")
    if account is None:
        return None
    data = _destination(current.type, current.wallet_code or current.bank_code, account)
    if current.account_title:
        data["account_title"] = current.account_title
    return convert({"destination": data}, _Reinitiate).destination


class _Reinitiate(msgspec.Struct):
    destination: DestinationIn


def reason(form: Mapping[str, str]) -> str | None:
    return convert({"reason": _text(form, "reason")}, ReviewDecision).reason


def cancel_reason(form: Mapping[str, str]) -> str | None:
    return convert({"reason": _text(form, "reason")}, PayoutCancel).reason


def simulate(form: Mapping[str, str]) -> SimulateOutcome:
    data = {"status": _text(form, "status"), "failure_code": _text(form, "failure_code")}
    if data["status"] is None:
        raise FormError(["Outcome: pick success, failed or returned"])
    return convert(data, SimulateOutcome)


def topup_amount(form: Mapping[str, str]) -> int:
    try:
        return parse_amount((_text(form, "amount") or "").replace(",", ""))
    except AmountError as exc:
        raise FormError([f"Amount: {exc}"]) from None
