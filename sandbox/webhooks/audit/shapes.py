"""What the receiver audit models, and the refusal of every other shape: a run takes no
body and no options (the gate's shapes are sandbox/verdicts/shapes.py)."""

from __future__ import annotations

from typing import get_args

import msgspec
from litestar import Request

from sandbox.core.errors import UnmodelledShape, listing
from sandbox.core.strict_input import refuse_unknown_query
from sandbox.webhooks.model.schemas import Signing


def audit_modelled() -> str:
    """What a receiver audit run takes: nothing to choose. A body naming cases, a scheme or
    another URL would be read by nobody, and the audit's `passed` would then claim what was
    never asked of it."""
    from sandbox.webhooks.audit.audit_cases import CASES

    return (f"no body and no options: every case of the battery ({', '.join(c.name for c in CASES)}; a forgery "
            "of each event type the endpoint subscribes to; `retired_key` once a rotation's grace period is over), "
            "sent to the "
            f"endpoint's own URL and signed with its own scheme ({' or '.join(get_args(Signing))}, Standard "
            "Webhooks); the query takes `format` (json or junit) only")


async def refuse_unmodelled_audit(request: Request) -> None:
    """The audit route's `before_request`: a body (other than none or `{}`) is a shape the
    audit does not model, refused in words rather than ignored."""
    await refuse_unknown_query(request)
    raw = (await request.body()).strip()
    if not raw or raw == b"{}":
        return
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        value = None
    named = f"the keys {listing(list(value))}" if isinstance(value, dict) else f"a body of {len(raw)} bytes"
    raise UnmodelledShape(f"the receiver audit does not take {named}: it models {audit_modelled()}")
