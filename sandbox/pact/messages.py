"""Webhooks as Pact messages: the message a pact expects is the webhook the sandbox would
send for that event, made by walking a real payout of a fresh merchant through its
scenario (states.make_payout) and taking the event the walk wrote, in the sender's own
wire format (webhooks/delivery/sender.py: the bytes it signs and POSTs, and its headers).

The interaction's description names the event by its type (`a payout.failed webhook`).
Its provider state means what it means on the states route, defaults included: `a payout`
(scenario `success`, at its path's end unless `status` says otherwise) or `a payout in
review`; the payout it makes must have sent the event by the status it stands at, or the
message is refused before anything is made. A built-in scenario named in the description
(`a payout.returned webhook in success_then_returned`) is the scenario when the state
names none, as it was before states meant the same here. With no state, the first
built-in whose path shows the status is walked to it (`payout.created`: the default
scenario; `payout.in_review` and `payout.pending`: at the review threshold, `pending`
after an admin's approval, the only way a payout sends it).

A refused message is a failed interaction whatever the verifier: see `REFUSAL_HEADERS`."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from typing import Any

from sandbox import db
from sandbox.core.clock import now
from sandbox.core.errors import FieldError, ValidationFailed
from sandbox.pact import schemas, shapes
from sandbox.pact import states as provider_states
from sandbox.payouts.model import scenarios, states
from sandbox.webhooks.delivery import sender
from sandbox.webhooks.model import faults, signatures
from sandbox.webhooks.model.event_types import EVENT_TYPES
from sandbox.webhooks.store.deliveries import Target

PAYOUT_EVENTS = tuple(t for t in EVENT_TYPES if t.startswith("payout."))
OTHER_EVENTS = tuple(t for t in EVENT_TYPES if t not in PAYOUT_EVENTS)
_TYPE = re.compile(r"\b[a-z]+\.[a-z_]+\b")
METADATA_HEADER = "Pact-Message-Metadata"
# How every refusal of the messages route is answered. The Pact verifiers (pact_ffi, in
# pact-python 4 and pact-js 17 alike) ignore a message provider's status and match the
# body they get: a 400 problem would pass an expectation with no body, or one written
# for the problem. So the problem's bytes go out as they are under a content coding they
# are not in: any client that decodes the body (both verifiers, httpx, curl --compressed)
# fails on it, so the interaction fails; curl without --compressed shows the words.
REFUSAL_HEADERS = {"Content-Encoding": "gzip"}


class MessageRefused(ValidationFailed):
    title = "The sandbox sends no such message"


def _refuse(message: str, field: str = "description") -> MessageRefused:
    return MessageRefused(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


def _event_type(description: str) -> str:
    named = list(dict.fromkeys(t for t in _TYPE.findall(description) if t in EVENT_TYPES))
    if len(named) > 1:  # a message is one webhook: which one is never guessed
        raise _refuse(f"{description!r} names {len(named)} event types ({', '.join(named)}); a message is one "
                      "webhook: name only its type ('a payout.returned webhook'; the types: "
                      f"{', '.join(PAYOUT_EVENTS)}), and the payout it comes from in its provider state")
    if not named:
        raise _refuse(f"{description!r} names no payout event; say it as 'a payout.failed webhook' "
                      f"(the types: {', '.join(PAYOUT_EVENTS)})")
    if named[0] in OTHER_EVENTS:
        raise _refuse(f"only payout.* events can be message-pacted, not {named[0]} (a payout state walks a payout;"
                      f" nothing walks a {named[0].split('.')[0]}); the types: {', '.join(PAYOUT_EVENTS)}")
    return named[0]


def _named_scenario(description: str) -> str | None:
    words = _TYPE.sub(" ", description)  # `payout.on_hold` names an event, not the scenario on_hold
    named = [n for n in scenarios.SCENARIO_NAMES if re.search(rf"\b{re.escape(n)}\b", words)]
    return max(named, key=len) if named else None  # `failed_account_closed` over a shorter name inside it


def _stateless_plan(description: str, status: str) -> provider_states.PayoutPlan:
    """The payout a message with no provider state asks for, by its description."""
    table = scenarios.table()
    params: dict[str, Any] = {}
    if named := _named_scenario(description):
        params["scenario"] = named
    elif status == "created" or status in states.INITIAL:  # where every payout starts
        params["scenario"] = table.default
    else:
        shows = [s.name for s in table.scenarios if status in provider_states.path_of(s)]
        if not shows:
            raise _refuse(f"no built-in scenario shows {status!r}; give the interaction an 'a payout' state "
                          "with a scenario of your own that does")
        params["scenario"] = shows[0]
    if status in states.THROUGH_REVIEW:
        params["amount"] = table.review.min_amount
    params["status"] = states.PENDING if status == "created" else status
    try:
        return provider_states.check_payout("a payout", params)
    except provider_states.StateRefused as exc:
        message = exc.errors[0].message if exc.errors else exc.detail
        raise _refuse(f"{message}; name a scenario that shows it, or leave the scenario out") from None


async def plan(request: schemas.MessageRequest) -> tuple[provider_states.PayoutPlan, str]:
    """The payout to walk and the event to take from it, every state and param judged
    first; raises a 400 (MessageRefused, StateRefused) and makes nothing."""
    if len(request.provider_states) > 1:  # as `sandbox pact verify` refuses it, for any verifier
        raise _refuse(f"{len(request.provider_states)} provider states; the rule: {shapes.STATE_RULE}",
                      "providerStates")
    event_type = _event_type(request.description)
    status = event_type.split(".", 1)[1]
    named = _named_scenario(request.description)
    plans = [await provider_states.check(s.name, {"scenario": named, **s.params}
                                         if s.name == "a payout" and named else dict(s.params))
             for s in request.provider_states]
    payout_plans = [p for p in plans if isinstance(p, provider_states.PayoutPlan)]
    if request.provider_states and not payout_plans:
        raise _refuse(f"{event_type} is a payout's event, and no payout is made by the interaction's state "
                      f"({', '.join(repr(s.name) for s in request.provider_states)}): give it "
                      f"{' or '.join(map(repr, provider_states.PAYOUT_STATES))}, or no state", "providerStates")
    chosen = payout_plans[0] if payout_plans else _stateless_plan(request.description, status)
    sent = chosen.events()
    if event_type not in sent:
        raise _refuse(_not_sent(chosen, event_type, sent), "providerStates" if payout_plans else "description")
    return chosen, event_type


def _not_sent(chosen: provider_states.PayoutPlan, event_type: str, sent: list[str]) -> str:
    said = (f"{chosen.state!r} (scenario {chosen.scenario.name}, amount {chosen.amount}) stands at "
            f"{chosen.status} having sent {', '.join(sent)}, never {event_type}")
    status = event_type.split(".", 1)[1]
    if status == states.PENDING:
        return (f"{said}. payout.pending is sent only when an admin approves a payout in review: use 'a payout' "
                f"with amount at or above {scenarios.table().review.min_amount} and status pending (or no state)")
    if status == states.IN_REVIEW or status == "created":
        return f"{said}. A payout is in review only at or above {scenarios.table().review.min_amount}"
    if status in provider_states.path_of(chosen.scenario):
        return f"{said}: {status} comes later on its path; set params.status to {status}, or leave it out"
    shows = [s.name for s in scenarios.table().scenarios if status in provider_states.path_of(s)]
    return f"{said}: its path is {' → '.join(provider_states.path_of(chosen.scenario))}; scenarios that send " \
           f"{event_type}: {', '.join(shows) or 'none built in'}"


async def message(chosen: provider_states.PayoutPlan, event_type: str) -> tuple[bytes, dict[str, str]]:
    """The webhook's body and its headers, as the sender would send them."""
    made = await provider_states.make_payout(chosen, "")
    row = await db.fetchrow(
        "SELECT * FROM outbox_event WHERE payout_id = $1 AND type = $2"
        " ORDER BY number DESC LIMIT 1", made["payoutId"], event_type)
    if row is None:  # `PayoutPlan.events` said it would be sent: a bug, said as one
        raise RuntimeError(f"the walk of {made['payoutId']} wrote no {event_type}")
    return _signed(row, made["merchantId"])


def _signed(event, merchant_id: str) -> tuple[bytes, dict[str, str]]:
    # The Target the relay builds for a delivery (webhooks/store/deliveries.py), to an endpoint that
    # does not exist: its signing secret is a fresh one, never shown.
    given: dict[str, Any] = dict(
        delivery_id="", merchant=merchant_id, seq=0, attempt=1, lease_token="", lease_until=now(),
        event_id=event["id"], event_type=event["type"], event_at=event["created_at"], data=event["data"],
        request=event["request"], endpoint_id="", url="",
        signing_keys=[signatures.generate(signatures.HMAC).signing_key], faults=faults.NONE, fresh_until=now())
    # A field of the event's the wire format comes to carry (a column of the same name) comes along.
    columns = set(event.keys())
    later = [f.name for f in dataclass_fields(Target) if f.name not in given and f.name in columns]
    given.update({name: event[name] for name in later})
    target = Target(**given)
    content = sender.body(target)
    # webhook-timestamp is when a delivery is sent, by the wall clock, as the sender's is (the
    # worker delivers outside any merchant's manual clock); the body's `timestamp` is the
    # event's, which follows the merchant's clock.
    sent_at = int(datetime.now(UTC).timestamp())
    return content, sender.headers(target, content, sent_at, frozenset())


def metadata_header(headers: dict[str, str]) -> str:
    """The message's metadata as Pact reads it: its webhook headers and its content type,
    as base64 of a JSON object."""
    metadata = {**headers, "contentType": headers["content-type"]}
    return base64.b64encode(json.dumps(metadata).encode()).decode()
