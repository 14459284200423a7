"""The check for a JSON key written twice (sandbox/core/strict_input.py): its cheap count
must never let a key twice through, however the keys and strings are written."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.core.errors import ValidationFailed
from sandbox.core.strict_input import decode_json, refuse_duplicate_keys

# Keys and strings that make the count hard: colons, escapes of a colon, quotes, backslashes.
_TEXT = st.text(alphabet=st.sampled_from(["a", "b", ":", '"', "\\", "é", " ", "\u003a"]), max_size=4)
_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | _TEXT,
                       lambda inner: st.lists(inner, max_size=3) | st.lists(st.tuples(_TEXT, inner), max_size=4),
                       max_leaves=12)


def _render(value, escape_colons: bool) -> str:
    """JSON text of a value whose objects are lists of (key, value) pairs, keys possibly
    repeated; colons inside strings escaped as \\u003a when asked."""
    def text(s: str) -> str:
        out = json.dumps(s)
        return out.replace(":", "\\u003a") if escape_colons else out
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        return "{" + ", ".join(f"{text(k)}: {_render(v, escape_colons)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v, escape_colons) for v in value) + "]"
    return text(value) if isinstance(value, str) else json.dumps(value)


def _has_twice(value) -> bool:
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        keys = [k for k, _ in value]
        return len(set(keys)) < len(keys) or any(_has_twice(v) for _, v in value)
    return isinstance(value, list) and any(_has_twice(v) for v in value)


@settings(max_examples=500, database=None, deadline=None)
@given(value=_VALUES, escape_colons=st.booleans())
def test_a_key_twice_is_found_whatever_the_text(value, escape_colons):
    raw = _render(value, escape_colons).encode()
    twice = _has_twice(value)
    try:
        refuse_duplicate_keys(raw, msgspec.json.decode(raw))
    except ValidationFailed as exc:
        assert twice, raw
        assert "more than once" in exc.errors[0].message
    else:
        assert not twice, raw


@pytest.mark.parametrize("raw, field", [
    (b'{"a": {"b": [1, {"c": 1, "c": 2}]}}', "a.b[1].c"),
    (b'[{"x": 1}, {"y": 1, "y": 1}]', "[1].y"),
    (b'{"a": 1, "\\u0061": 2}', "a"),
])
def test_the_key_twice_is_named_with_its_path(raw, field):
    with pytest.raises(ValidationFailed) as refused:
        decode_json(raw)
    assert refused.value.errors[0].field == field
