"""Webhooks as Pact messages: the message a pact expects is the webhook the sandbox would
send for that event, made by walking a real payout of a fresh merchant through its
scenario (states.walk) and taking the event the walk wrote, in the sender's own wire
format (webhooks/delivery/sender.py: the bytes it signs and POSTs, and its headers).

The interaction's description names the event by its type (`a payout.failed webhook`);
the scenario is the `scenario` param of its `a payout` provider state, else a built-in
scenario named in the description, else the first built-in whose path shows the status
(`payout.created`: the default scenario, not walked)."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import fields as dataclass_fields
from typing import Any

from sandbox import db
from sandbox.core.clock import now
from sandbox.core.errors import FieldError, ValidationFailed
from sandbox.core.money import parse_amount
from sandbox.pact import schemas
from sandbox.pact import states as provider_states
from sandbox.payouts.model import scenarios, states
from sandbox.webhooks.delivery import sender
from sandbox.webhooks.model import faults, signatures
from sandbox.webhooks.model.event_types import EVENT_TYPES
from sandbox.webhooks.store.deliveries import Target

PAYOUT_EVENTS = tuple(t for t in EVENT_TYPES if t.startswith("payout."))
_TYPE = re.compile(r"\bpayout\.[a-z_]+\b")
METADATA_HEADER = "Pact-Message-Metadata"


class MessageRefused(ValidationFailed):
    title = "The sandbox sends no such message"


def _refuse(message: str) -> MessageRefused:
    return MessageRefused(f"description: {message}", errors=[FieldError(field="description", message=message)])


def _payout_params(request: schemas.MessageRequest) -> dict[str, Any]:
    for state in request.provider_states:
        if state.name in ("a payout", "a payout in review"):
            return dict(state.params)
    return {}


def _scenario_for(description: str, status: str) -> str:
    named = [n for n in scenarios.SCENARIO_NAMES if re.search(rf"\b{re.escape(n)}\b", description)]
    if named:
        return max(named, key=len)  # `failed_account_closed` over a shorter name inside it
    if status in ("created", states.IN_REVIEW):  # where every payout starts (in review: by its amount)
        return scenarios.table().default
    for s in scenarios.table().scenarios:
        if status in s.path or status in (step.status for step in s.after_release):
            return s.name
    raise _refuse(f"no built-in scenario shows {status!r}; name one in the 'a payout' state's params")


async def message(request: schemas.MessageRequest) -> tuple[bytes, dict[str, str]]:
    """The webhook's body and its headers, as the sender would send them."""
    found = _TYPE.search(request.description)
    if found is None or found.group(0) not in PAYOUT_EVENTS:
        raise _refuse(f"{request.description!r} names no payout event; say it as 'a payout.failed webhook' "
                      f"(the types: {', '.join(PAYOUT_EVENTS)})")
    event_type = found.group(0)
    status = event_type.split(".", 1)[1]
    params = _payout_params(request)
    params.setdefault("scenario", _scenario_for(request.description, status))
    if status == states.IN_REVIEW:
        params.setdefault("amount", scenarios.table().review.min_amount)
    if status == "created":  # where a payout is right after creation: in review at the threshold
        review = "amount" in params and scenarios.table().needs_review(parse_amount(str(params["amount"])))
        status = states.IN_REVIEW if review else states.PENDING
    params["status"] = status
    made = await provider_states.a_payout("a payout", params, "")
    row = await db.fetchrow(
        "SELECT * FROM outbox_event WHERE payout_id = $1 AND type = $2"
        " ORDER BY number DESC LIMIT 1", made["payoutId"], event_type)
    if row is None:
        raise _refuse(f"scenario {made['scenario']} sends no {event_type}")
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
    return content, sender.headers(target, content, int(now().timestamp()), frozenset())


def metadata_header(headers: dict[str, str]) -> str:
    """The message's metadata as Pact reads it: its webhook headers and its content type,
    as base64 of a JSON object."""
    metadata = {**headers, "contentType": headers["content-type"]}
    return base64.b64encode(json.dumps(metadata).encode()).decode()

