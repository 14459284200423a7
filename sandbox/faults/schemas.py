from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sandbox.core.pagination import HasMore, NextCursor
from sandbox.core.types import said
from sandbox.faults.kinds import MAX_DELAY_S, FaultKind

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "*"]


class FaultRuleCreate(msgspec.Struct, forbid_unknown_fields=True):
    """`delay_s`: for `slow` and `timeout`, how long the answer is held (default 3 s and 30 s)."""

    path: Annotated[str, msgspec.Meta(
        min_length=1, max_length=200, pattern=r"^/[\x21-\x7e]*$",
        description="A route template (`/payouts/{payout_id}/cancel`) or a path prefix, whole segments"
                    " (`/payouts` matches `/payouts/po_1/cancel`), below `/api/v1` (the prefix may be given)")]
    fault: Annotated[FaultKind, msgspec.Meta(description="What happens to the matching requests")]
    method: Annotated[Method, msgspec.Meta(description="The method matched; `*` for any")] = "*"
    times: Annotated[int, msgspec.Meta(ge=1, le=1000, description="How many matching requests it applies to")] = 1
    delay_s: Annotated[float, msgspec.Meta(
        ge=0, le=MAX_DELAY_S,
        description="For `slow` and `timeout`: how long the answer is held (default 3 s and 30 s)")] | None = (
        msgspec.field(default=None))


class FaultRule(msgspec.Struct):
    id: Annotated[str, said("The rule's id")]
    object: Annotated[Literal["fault_rule"], said("The object's kind")]
    method: Annotated[Method, said("The method matched; `*` for any")]
    path: Annotated[str, said("The route template or path prefix matched, below `/api/v1`")]
    fault: Annotated[FaultKind, said("What happens to the matching requests")]
    times: Annotated[int, said("How many matching requests it applies to in all")]
    remaining: Annotated[int, msgspec.Meta(description="Matching requests it still applies to; 0 once spent")]
    delay_s: Annotated[float, said("How long a `slow` or `timeout` answer is held")]
    created_at: Annotated[str, said("When it was made (RFC 3339, milliseconds)")]


class FaultRuleList(msgspec.Struct):
    data: Annotated[list[FaultRule], msgspec.Meta(description="This page's fault rules")]
    has_more: HasMore
    next_cursor: NextCursor
