"""The receiver audit's battery: what each case sends and what a receiver that follows
Standard Webhooks must answer. A receiver must verify the signature (in constant time),
refuse a timestamp more than a few minutes off (or hours, or days), answer a repeated
`webhook-id` and an unknown event type with 2xx (deduplicate, ignore), refuse a forgery of
every event type its endpoint subscribes to, keep accepting while the sender signs with
two keys during a rotation (each case is signed as a delivery is then: by both keys, so a
receiver holding either passes), and refuse the key rotated away once its grace period is
over.

Every request is built by the code that builds real deliveries (`sender.body`,
`sender.headers`, `signatures`): the audit tests the receiver against what it will
really get. Nothing here touches the database: the events are made up (`evt_audit_…`,
about a payout `po_audit_…` that exists nowhere)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

import msgspec

from sandbox.core.ids import new_id
from sandbox.webhooks.delivery import sender
from sandbox.webhooks.model import faults as fault_rules
from sandbox.webhooks.model import signatures
from sandbox.webhooks.model.event_types import EVENT_TYPES, matches_any
from sandbox.webhooks.store.deliveries import Target

OK, REFUSED = "2xx", "4xx"
UNSEEN_TYPE = "audit.unseen_type"  # no event has this type: a receiver meets it first here
TAMPERED_AMOUNT = "999999.00"


@dataclass(frozen=True, slots=True)
class Request:
    content: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    sends: str
    expected: str  # OK or REFUSED
    why: str
    build: Callable[[Battery], Request]
    applies: Callable[[Battery], bool] = lambda _: True  # whether this endpoint gets the case


@dataclass(slots=True)
class Battery:
    """One run's made-up events, signed with the endpoint's keys at `at` (wall-clock time:
    receivers compare `webhook-timestamp` with their own clock, whatever clock the
    merchant's payouts live on)."""

    url: str
    signing_keys: list[str]  # as a delivery signs now: the current key, then one in its grace period
    at: datetime
    retired_key: str | None = None  # the key a rotation replaced, once its grace period is over
    events: list[str] = field(default_factory=lambda: ["*"])  # the endpoint's subscriptions (patterns)
    valid: Target | None = None

    @property
    def timestamp(self) -> int:
        return int(self.at.timestamp())

    def event(self, event_type: str = "payout.success", amount: str = "1500.00") -> Target:
        """A fresh event with the shape of a real one, as a delivery target that no
        delivery row stands behind."""
        payout_id = new_id("po_audit")
        status = event_type.removeprefix("payout.") if event_type.startswith("payout.") else "success"
        data = {"id": payout_id, "object": "payout", "amount": amount, "currency": "PKR", "status": status,
                "scenario": "success", "reference": "receiver-audit", "description": None, "metadata": None,
                "attempts": 1, "failure_code": None, "failure": None, "psp_reference": None}
        return Target(delivery_id="", merchant="", seq=0, attempt=1, lease_token="", lease_until=self.at,
                      event_id=new_id("evt_audit"), event_type=event_type, event_at=self.at, sequence=1,
                      data=msgspec.json.encode(data).decode(), request=None, endpoint_id="", url=self.url,
                      signing_keys=self.signing_keys, faults=fault_rules.NONE, fresh_until=self.at)

    def signed(self, target: Target, *, timestamp: int | None = None,
               applied: frozenset[str] = frozenset()) -> Request:
        content = sender.body(target)
        return Request(content, sender.headers(target, content, self.timestamp if timestamp is None else timestamp,
                                               applied))

    def first_event(self) -> Target:
        if self.valid is None:
            self.valid = self.event()
        return self.valid


def _valid(b: Battery) -> Request:
    return b.signed(b.first_event())


def _unseen_type(b: Battery) -> Request:
    return b.signed(b.event(UNSEEN_TYPE))


def _tampered(b: Battery) -> Request:
    target = b.event()
    signed = b.signed(target)
    data = msgspec.json.decode(target.data)
    data["amount"] = TAMPERED_AMOUNT
    changed = replace(target, data=msgspec.json.encode(data).decode())
    return Request(sender.body(changed), signed.headers)


def _forged_repeat(b: Battery) -> Request:
    # The first event's own headers (its webhook-id, timestamp and signature) over a changed body.
    first = _valid(b)
    return Request(_tampered(b).content, first.headers)


def _wrong_secret(b: Battery) -> Request:
    # The same key swap as the `wrong_signature_rate` fault of real deliveries.
    return b.signed(b.event(), applied=frozenset({fault_rules.WRONG_SIGNATURE}))


def _unsigned(b: Battery) -> Request:
    signed = b.signed(b.event())
    return Request(signed.content, {k: v for k, v in signed.headers.items() if not k.startswith("webhook-")})


def _shifted(seconds: int) -> Callable[[Battery], Request]:
    def build(b: Battery) -> Request:
        return b.signed(b.event(), timestamp=b.timestamp + seconds)
    return build


def _scheme(b: Battery, *, other: bool = False) -> str:
    ed25519 = b.signing_keys[0].startswith(signatures.PRIVATE_PREFIX)
    return signatures.ED25519 if ed25519 != other else signatures.HMAC


def _signatures(forged: int, valid_at: int | None = None, *, event_type: str = "payout.success",
                amount: str = "1500.00", other_scheme: bool = False) -> Callable[[Battery], Request]:
    """`forged` signatures by keys that are not the endpoint's (of its scheme, or of the other
    one: `v1a` to an HMAC endpoint, `v1` to an Ed25519 one), the endpoint's own at `valid_at`
    among them when given (each of its keys', during a rotation's grace period, side by side
    as a delivery carries them): a receiver must accept when any one is valid, refuse when
    none is."""
    def build(b: Battery) -> Request:
        signed = b.signed(b.event(event_type, amount))
        headers = signed.headers
        content = signatures.signed_content(headers["webhook-id"], int(headers["webhook-timestamp"]), signed.content)
        said = [signatures.sign(signatures.generate(_scheme(b, other=other_scheme)).signing_key, content)
                for _ in range(forged)]
        if valid_at is not None:
            said[valid_at:valid_at] = headers["webhook-signature"].split(" ")
        return Request(signed.content, {**headers, "webhook-signature": " ".join(said)})
    return build


def _own_signature_changed(change: Callable[[str], str]) -> Callable[[Battery], Request]:
    """The endpoint's own signatures over the request (each of its keys' during a rotation),
    each changed by `change` (its base64 part): none is valid, whichever key a receiver holds."""
    def build(b: Battery) -> Request:
        signed = b.signed(b.event())
        changed = [f"{version},{change(signature)}" for version, _, signature in
                   (own.partition(",") for own in signed.headers["webhook-signature"].split(" "))]
        return Request(signed.content, {**signed.headers, "webhook-signature": " ".join(changed)})
    return build


def _retired(b: Battery) -> Request:
    assert b.retired_key is not None  # the case applies only then
    return b.signed(replace(b.event(), signing_keys=[b.retired_key]))


def _last_changed(signature: str) -> str:
    # The last full base64 character before any padding, swapped for another: other bytes.
    body = signature.rstrip("=")
    return body[:-2] + ("B" if body[-2] == "A" else "A") + body[-1] + signature[len(body):]


def _first_half(signature: str) -> str:
    # Whole bytes, a multiple of 3 of them: valid base64 (a library that decodes it before it
    # compares refuses it, not crashes) and a prefix of the signature as the header writes it.
    raw = base64.b64decode(signature)
    return base64.b64encode(raw[:len(raw) // 2 // 3 * 3]).decode()


def _capitalised(b: Battery) -> Request:
    forged = _signatures(1)(b)
    return Request(forged.content, {"-".join(w.capitalize() for w in k.split("-")): v
                                    for k, v in forged.headers.items()})


STALE_S = int(fault_rules.STALE_BY.total_seconds())
LARGE_BODY_KB = 64
HOURS_OFF_S = 3 * 3600
DAYS_OFF_S = 2 * 86400

CASES: tuple[Case, ...] = (
    Case("valid_event", "a correctly signed payout.success event", OK,
         "A receiver that refuses or is slow to acknowledge genuine events makes the sender retry and finally "
         "give up, so real payouts go unreconciled.", _valid),
    Case("duplicate_delivery", "the same request again, same webhook-id", OK,
         "Deliveries are at least once: a retry after a lost answer repeats the webhook-id, and the receiver "
         "must acknowledge it without acting twice.", _valid),
    Case("unseen_event_type", f"a correctly signed event of type {UNSEEN_TYPE}", OK,
         "New event types are added without notice; a receiver that refuses them gets them retried for hours "
         "and may have its endpoint disabled.", _unseen_type),
    Case("tampered_body", f"a correctly signed event whose amount was changed to {TAMPERED_AMOUNT} after signing",
         REFUSED, "A receiver that does not check the signature over the exact body lets anyone on the path "
         "change what a genuine event says.", _tampered),
    Case("wrong_secret", "an event signed with a key that is not the endpoint's", REFUSED,
         "A forged payout.success signed with any other key would otherwise mark an order paid.", _wrong_secret),
    Case("unsigned", "an event without webhook-id, webhook-timestamp or webhook-signature headers", REFUSED,
         "A receiver that accepts unsigned requests accepts them from anyone who knows its URL.", _unsigned),
    Case("stale_timestamp", f"a correctly signed event whose webhook-timestamp is {STALE_S // 60} minutes old",
         REFUSED, "Without a timestamp tolerance a captured request can be replayed forever.", _shifted(-STALE_S)),
    Case("future_timestamp", f"a correctly signed event whose webhook-timestamp is {STALE_S // 60} minutes ahead",
         REFUSED, "A timestamp from the future would stay fresh long after it was captured, and replay later.",
         _shifted(STALE_S)),
    Case("timestamp_hours_old", f"a correctly signed event whose webhook-timestamp is {HOURS_OFF_S // 3600} hours old",
         REFUSED, "A receiver that stops checking the timestamp past some age accepts a request captured hours "
         "ago.", _shifted(-HOURS_OFF_S)),
    Case("timestamp_hours_ahead", f"a correctly signed event whose webhook-timestamp is {HOURS_OFF_S // 3600} hours "
         "ahead", REFUSED, "A timestamp hours ahead stays fresh for hours after it was captured.",
         _shifted(HOURS_OFF_S)),
    Case("timestamp_days_old", f"a correctly signed event whose webhook-timestamp is {DAYS_OFF_S // 86400} days old",
         REFUSED, "A receiver that skips the check for a timestamp it takes for a clock error (a day or more off) "
         "accepts every request captured since.", _shifted(-DAYS_OFF_S)),
    Case("timestamp_days_ahead", f"a correctly signed event whose webhook-timestamp is {DAYS_OFF_S // 86400} days "
         "ahead", REFUSED, "A timestamp days ahead would keep a captured request replayable for days.",
         _shifted(DAYS_OFF_S)),
    Case("key_rotation", "two signatures: an unknown key's first, the endpoint's own second (during a rotation's "
         "grace period, both of its keys')", OK,
         "During a key rotation deliveries carry several signatures; a receiver that checks only the first "
         "drops every webhook until it is redeployed.", _signatures(1, valid_at=1)),
    Case("forged_signatures", "two signatures, both by keys that are not the endpoint's", REFUSED,
         "A receiver that trusts a request because it carries several signatures, or checks none of them when "
         "more than one comes, accepts anyone's forgery.", _signatures(2)),
    Case("valid_signature_first", "two signatures: the endpoint's own first (both of its keys', in a grace "
         "period), an unknown key's second", OK,
         "Any one valid signature is enough, wherever it stands in the header.", _signatures(1, valid_at=0)),
    Case("many_forged_signatures", "three signatures, all by keys that are not the endpoint's", REFUSED,
         "Every signature in the header must be checked before a request is refused or accepted, however many "
         "come.", _signatures(3)),
    Case("valid_signature_middle", "three signatures: an unknown key's, the endpoint's own (both of its keys', in "
         "a grace period), an unknown key's", OK,
         "A receiver that checks only the first and the last signature drops webhooks during a rotation.",
         _signatures(2, valid_at=1)),
    Case("other_scheme", "one signature of the other scheme (v1a to an HMAC endpoint, v1 to an Ed25519 one), "
         "by an unknown key", REFUSED, "A signature of a scheme the endpoint does not use proves nothing; a "
         "receiver that accepts one it cannot check accepts anything.", _signatures(1, other_scheme=True)),
    Case("forged_unseen_type", f"an event of type {UNSEEN_TYPE} signed by a key that is not the endpoint's",
         REFUSED, "Event types a receiver ignores must still be verified first: answering 2xx to an unverified "
         "request tells a forger the URL takes anything.", _signatures(1, event_type=UNSEEN_TYPE)),
    Case("forged_large_body", f"a {LARGE_BODY_KB} KiB event signed by a key that is not the endpoint's", REFUSED,
         "A receiver that skips verification for large bodies (or streams them before checking) acts on "
         "forgeries.", _signatures(1, amount="1" * (LARGE_BODY_KB * 1024) + ".00")),
    Case("altered_signature", "the endpoint's own signature (each of its keys', in a grace period) with one "
         "character near its end changed", REFUSED,
         "A receiver that compares only the start of a signature accepts one a forger got partly right.",
         _own_signature_changed(_last_changed)),
    Case("truncated_signature", "the endpoint's own signature (each of its keys', in a grace period) cut to its "
         "first half", REFUSED,
         "A receiver that checks whether the expected signature starts with the one given accepts any prefix "
         "of it, down to an empty one.", _own_signature_changed(_first_half)),
    Case("forged_repeat_id", "the first event's webhook-id, timestamp and signature over another body (its amount "
         f"{TAMPERED_AMOUNT})", REFUSED, "A receiver that lets a webhook-id it has seen through without verifying "
         "(taking it for a retry) acts on whatever body a forger sends with it.", _forged_repeat),
    Case("forged_capitalised_headers", "an event signed by a key that is not the endpoint's, its headers named "
         "Webhook-Id, Webhook-Timestamp, Webhook-Signature", REFUSED,
         "Header names are case-insensitive: a receiver that looks for the signature only in lower case lets a "
         "request through unverified when a proxy capitalises them.", _capitalised),
)


def _subscribes(event_type: str) -> Callable[[Battery], bool]:
    return lambda b: matches_any(b.events, event_type)


# A forgery of every event type the endpoint gets (payout.success's is `wrong_secret`): a
# receiver that verifies only the events it acts on first lets a forged `payout.failed` or
# `payout.returned` through, and those move a merchant's books back.
FORGED_TYPES: tuple[Case, ...] = tuple(
    Case(f"forged_{event_type.replace('.', '_')}", f"a {event_type} event signed by a key that is not the "
         "endpoint's", REFUSED, f"A receiver that verifies some event types and not {event_type} acts on a forged "
         f"{event_type}.", _signatures(1, event_type=event_type), _subscribes(event_type))
    for event_type in EVENT_TYPES if event_type != "payout.success")
RETIRED_KEY = Case(
    "retired_key", "an event signed only with the endpoint's retired key (rotated away, its grace period over)",
    REFUSED, "A rotation retires a key because it may have leaked: a receiver still accepting it after the grace "
    "period accepts whatever the holder of the old secret signs.", _retired, lambda b: b.retired_key is not None)
EVERY_CASE: tuple[Case, ...] = (*CASES, *FORGED_TYPES, RETIRED_KEY)
"""Every case an audit may send; `sent_to` the ones a given endpoint gets."""


def sent_to(battery: Battery) -> list[Case]:
    """The cases the battery's endpoint gets, in order: the fixed ones, a forgery of each
    type it subscribes to, the retired key's case when a rotation retired one."""
    return [case for case in EVERY_CASE if case.applies(battery)]

