"""Constrained string types shared by request schemas (documented in OpenAPI as-is), and
the words a client reads when a value does not fit one: msgspec's validation messages
("Expected `str` matching regex '^(…)$'") become what the pattern means ("must be an
amount … like 1500.00"), so no 400 shows a regular expression."""

from __future__ import annotations

import ast
import re
from typing import Annotated

from msgspec import Meta

from sandbox.core.money import AMOUNT_OR_ZERO_PATTERN, AMOUNT_PATTERN, MAX_AMOUNT_MINOR, PYTHON_END, format_amount

# What each pattern means, in words: a 400 says these instead of the regex.
PATTERN_WORDS: dict[str, str] = {}


def said(words: str) -> Meta:
    """A field's description in the published spec: `Annotated[str, said("…")]`."""
    return Meta(description=words)


def worded(pattern: str, words: str) -> str:
    PATTERN_WORDS[pattern] = words
    return pattern


def whole(body: str, words: str) -> str:
    """A pattern the entire string must match. msgspec checks patterns with re.search,
    where a bare `$` also matches before a final newline; PYTHON_END keeps "abc\n" out in
    Python, and the published spec drops it (in JavaScript `$` already means the end)."""
    return worded(f"^(?:{body}){PYTHON_END}", words)


# No control characters (C0 such as NUL and escapes, DEL, C1 such as U+0085 and U+009B),
# no bidirectional overrides, embeddings or isolates (U+202A-U+202E, U+2066-U+2069: they
# make text display in another order than it is stored) and no line or paragraph
# separators: PostgreSQL refuses NUL, and logs and dashboards must show what was sent.
_UNPRINTABLE = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_PRINTABLE = whole(f"[^{_UNPRINTABLE}]*",
                   "must be printable text: no control characters, line breaks or bidirectional overrides")
# Text that names something (a title, a name) is not blank: printable, and at least one
# character that is not a space.
_VISIBLE = whole(rf"[^\S{_UNPRINTABLE}]*[^\s{_UNPRINTABLE}][^{_UNPRINTABLE}]*",
                 "must be printable text with at least one character that is not a space: no control "
                 "characters, line breaks or bidirectional overrides")

_MOST = format_amount(MAX_AMOUNT_MINOR)
Amount = Annotated[str, Meta(pattern=worded(AMOUNT_PATTERN, f"must be a decimal greater than 0 and at most {_MOST}, "
                                                            "with at most two decimals and no sign, like 1500.00"),
                             examples=["1500.00"],
                             description=f"Decimal string in PKR, at most two decimals, > 0 and at most {_MOST}")]
AmountOrZero = Annotated[str, Meta(pattern=worded(AMOUNT_OR_ZERO_PATTERN, f"must be a decimal from 0 to {_MOST}, "
                                                                          "with at most two decimals and no sign, "
                                                                          "like 500000.00"),
                                   examples=["500000.00"])]
Currency = Annotated[str, Meta(pattern=whole("PKR", "must be PKR"), examples=["PKR"],
                               description="ISO 4217; only PKR")]
Title = Annotated[str, Meta(min_length=1, max_length=100, pattern=_VISIBLE)]
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=_VISIBLE)]
Description = Annotated[str, Meta(max_length=500, pattern=_PRINTABLE)]
Reason = Annotated[str, Meta(max_length=500, pattern=_PRINTABLE)]
Reference = Annotated[str, Meta(
    min_length=1, max_length=64, description="Your own id, unique per merchant",
    pattern=whole(r"[A-Za-z0-9._:/#-]+", "may use letters, digits and . _ : / # - only, no spaces"))]
Code = Annotated[str, Meta(min_length=1, max_length=16,
                           pattern=whole("[A-Z0-9_]+", "may use capital letters, digits and _ only"))]
Digits = Annotated[str, Meta(min_length=1, max_length=34, pattern=whole("[0-9]+", "must be digits only"))]
Iban = Annotated[str, Meta(min_length=1, max_length=34,
                           pattern=whole("[A-Za-z0-9 ]+", "may use letters, digits and spaces only"))]
MetaKey = Annotated[str, Meta(min_length=1, max_length=40,
                              pattern=whole(r"[A-Za-z0-9_.:-]+", "may use letters, digits and _ . : - only"))]
MetaValue = Annotated[str, Meta(max_length=500, pattern=_PRINTABLE)]
Metadata = Annotated[dict[MetaKey, MetaValue], Meta(max_length=20,
                     description="Up to 20 string pairs, returned as sent")]

# RFC 3339 date-time, as query values. Declared as strings and parsed by `parse_timestamp`:
# a `datetime` query parameter would also take a bare number as Unix seconds.
RFC3339 = whole(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})",
                "must be an RFC 3339 date-time, like 2026-11-23T10:30:00Z")

# msgspec's validation messages in words a person reads.
_REGEX = re.compile(r"^Expected `[^`]+` matching regex (?P<pattern>'.*')$")
_LENGTH = re.compile(r"^Expected `(?P<kind>str|object|array)` of length (?P<op>[<>]=) (?P<n>\d+)$")
_BOUND = re.compile(r"^Expected `(?:int|float)` (?P<op>[<>]=?) (?P<n>-?[\d.]+)$")
_TYPE = re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`$")

_KINDS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
          "object": "an object", "array": "a list", "null": "null"}
_UNITS = {"str": "characters", "object": "entries", "array": "items"}
_BOUNDS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}


def _kinds(spec: str) -> str:
    return " or ".join(_KINDS.get(k.strip(), k.strip()) for k in spec.split("|"))


def in_words(message: str) -> str:
    if m := _REGEX.match(message):
        try:
            pattern = ast.literal_eval(m["pattern"])
        except (ValueError, SyntaxError):
            pattern = ""  # no pattern has words for it
        return PATTERN_WORDS.get(pattern, "is not in the accepted form")
    if m := _LENGTH.match(message):
        n, unit = int(m["n"]), _UNITS[m["kind"]]
        if m["op"] == ">=" and n == 1:
            return "must not be empty"
        return f"must have {_BOUNDS[m['op']]} {n} {unit}"
    if m := _BOUND.match(message):
        return f"must be {_BOUNDS[m['op']]} {m['n']}"
    if m := _TYPE.match(message):
        return f"must be {_kinds(m['want'])}, not {_kinds(m['got'])}"
    return message
