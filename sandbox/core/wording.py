"""msgspec's validation messages in words a person reads: "Expected `str` matching
regex '^(…)$'" becomes what the pattern means ("must be an amount … like 1500.00"), so
no 400 shows a regular expression."""

from __future__ import annotations

import ast
import re

from sandbox.core.types import PATTERN_WORDS

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
            pattern = None
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
