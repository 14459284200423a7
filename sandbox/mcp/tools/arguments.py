"""The arguments many tools share, each with its bounds and its words: a refusal names
what the pattern means (sandbox/core/types.py's PATTERN_WORDS), never the pattern."""

from __future__ import annotations

from typing import Annotated, Any, get_args

import msgspec
from pydantic import Field

from sandbox.core.money import AMOUNT_OR_ZERO_PATTERN, AMOUNT_PATTERN, PYTHON_END
from sandbox.core.types import PATTERN_WORDS, worded
from sandbox.mcp.merchants import HANDLE_PATTERN


def _json_schema(pattern: str) -> str:
    """The API's pattern as JSON Schema and pydantic read it (`$` is the very end there);
    the API's words for it."""
    plain = pattern.replace(PYTHON_END, "$")
    return worded(plain, PATTERN_WORDS[pattern])


def api_limits(field: Any) -> dict[str, Any]:
    """The constraints of the API's own field type (a msgspec `Annotated[str, Meta(…)]`) as
    pydantic's Field takes them: the same pattern, lengths and bounds, so a tool can neither
    take what the API refuses nor refuse what it takes (tests/mcp/test_schemas_are_the_apis.py)."""
    limits: dict[str, Any] = {}
    for meta in get_args(field)[1:]:
        if not isinstance(meta, msgspec.Meta):
            continue
        if meta.pattern is not None:
            plain = meta.pattern.replace(PYTHON_END, "$")
            limits["pattern"] = worded(plain, PATTERN_WORDS.get(meta.pattern, PATTERN_WORDS.get(
                plain, "is not in the form the API takes (see the tool's input schema)")))
        for name in ("min_length", "max_length", "ge", "le", "gt", "lt"):
            if getattr(meta, name) is not None:
                limits[name] = getattr(meta, name)
    return limits


KEY = worded(r"^[\x21-\x7e]+$", "must be printable ASCII with no spaces")  # idempotency keys, request ids
ID = worded(r"^[A-Za-z0-9_]{1,64}$", "must be an id: 1 to 64 letters, digits or _")
PayoutId = Annotated[str, Field(max_length=64, pattern=ID, description="the payout's id (po_…)")]
Amount = Annotated[str, Field(max_length=16, pattern=_json_schema(AMOUNT_PATTERN),
                              description="PKR, a decimal string greater than 0 and at most 99999999.99, "
                                          "two decimals at most")]
AmountOrZero = Annotated[str, Field(max_length=16, pattern=_json_schema(AMOUNT_OR_ZERO_PATTERN),
                                    description="PKR, a decimal string from 0 to 99999999.99")]
Handle = Annotated[str | None, Field(
    max_length=35, pattern=worded(HANDLE_PATTERN, "must be a merchant handle as new_merchant answered it (mh_…)"),
    description="the merchant to act for: the handle new_merchant answered (a bearer credential: whoever sends "
                "it acts as the merchant). Required without a session (the SDK's default HTTP client); in a session "
                "(stdio, or HTTP with the initialize handshake) none means the session's latest merchant")]
IdempotencyKey = Annotated[str | None, Field(
    min_length=1, max_length=255, pattern=KEY,
    description="the key of an earlier call whose answer was lost (its error names it): the API answers what that "
                "call did instead of doing it twice; none: a fresh key")]
