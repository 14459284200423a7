"""The redactor compiles the regex of a secret's escaped spellings only for a secret that
the field, its escapes decoded, may hold. That shortcut must hide exactly what the regex of
every spelling of every secret hides, whatever stands around a secret: above all an escape
begun just before it that takes its first characters when decoded (`%4` then a secret
`A1…`, `\\u00` then `4f…`, `\\` then `\\u0041…`). Hypothesis builds fields of secrets in
every spelling, their pieces and such escapes, and compares the two."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.requests.redaction import MARKER, Redactor, _spellings, redact

SECRETS = (
    "sk_test_4Af1u00abKzQ9x-_Zr2",  # hex digits after its prefix: `%4` before it takes `4A`
    "whsec_u004fAbCdEfGh/IjKl+mn=",  # `\u004f` in plain text: `\` before it takes `u004f`
    "whsec_41aBcD9eF0123456789",  # all hex for its first characters
    "x%2F\\y",  # an admin key may be any text: its own `%` and `\`
    "ab1",  # shorter than what an escape can take
)
SEPARATORS = ("", "%", "%4", "\\", "\\u", "\\u00", "\\u004", "\\\\", "u00", "\"", "/", "%%", "a", " ")


def exact(values: tuple[bytes, ...], data: bytes) -> bytes:
    """What the redactor did before the shortcut: every value raw, then one regex of every
    spelling of every value, then the shapes."""
    for value in values:
        data = data.replace(value, MARKER)
    if b"\\" in data or b"%" in data:
        data = re.compile(_spellings(values)).sub(MARKER, data)
    return redact(data) or b""


@st.composite
def spelled(draw, text: str) -> str:
    out = []
    for char in text:
        form = draw(st.sampled_from(["raw", "json", "JSON", "percent", "PERCENT", "slash"]))
        digits = f"{ord(char):02x}"
        out.append(char if form == "raw" or (form == "slash" and char not in "\"\\/") else
                   "\\" + char if form == "slash" else
                   "\\u00" + (digits.upper() if form == "JSON" else digits) if form.lower() == "json" else
                   "%" + (digits.upper() if form == "PERCENT" else digits))
    return "".join(out)


@st.composite
def fields(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        secret = draw(st.sampled_from(SECRETS))
        start = draw(st.integers(0, len(secret) - 1))
        end = draw(st.integers(start + 1, len(secret)))
        piece = secret if draw(st.booleans()) else secret[start:end]
        parts.append(draw(st.sampled_from(SEPARATORS)) + draw(spelled(piece)))
    parts.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(parts)


@settings(max_examples=600, deadline=None, database=None)
@given(fields())
def test_the_shortcut_hides_what_every_spelling_hides(field):
    redactor = Redactor(SECRETS)
    values = redactor._values
    data = field.encode()
    assert redactor(data) == exact(values, data)


@pytest.mark.parametrize(("before", "secret", "taken"), [
    ("%", SECRETS[0], 2),  # `%` + `4A`: `J`
    ("\\u00", SECRETS[2], 2),  # `\u00` + `41`: `A`
    ("\\", SECRETS[1], 5),  # `\` + `u004f`: `O`, the most an escape takes
])
def test_an_escape_begun_before_a_secret_does_not_hide_it_from_the_shortcut(before, secret, taken):
    part = secret.split("_", 2)[-1]  # what is hidden of a key: the part after its prefix
    rest = "".join(f"\\u00{ord(c):02x}" for c in part[taken:])
    # Decoded, the escape takes the secret's first characters: they are gone from the decoded text.
    field = f"{before}{part[:taken]}{rest}".encode()
    redactor = Redactor(SECRETS)
    got = redactor(field) or b""
    assert got == exact(redactor._values, field) == before.encode() + MARKER


def test_a_body_of_escapes_goes_to_the_regex_of_every_spelling():
    """Past a thousand escapes a field is not decoded (it would cost more than the regex)."""
    part = SECRETS[1].split("_", 2)[-1]
    escaped = "".join(f"%{ord(c):02X}" for c in part)
    field = ("\\u0061" * 1_500 + "\\" + part[:5] + escaped[15:] + "%4" + escaped).encode()
    redactor = Redactor(SECRETS)
    got = redactor(field) or b""
    assert got == exact(redactor._values, field)
    assert got.endswith(b"%4" + MARKER) and got.count(MARKER) == 2
