"""Amounts on the wire: decimal strings with at most two decimals, integer
paisa inside, never a float."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.core.money import (
    AMOUNT_OR_ZERO_PATTERN,
    AMOUNT_PATTERN,
    MAX_AMOUNT_MINOR,
    AmountError,
    format_amount,
    parse_amount,
)


@pytest.mark.parametrize(
    "text, minor",
    [
        ("1500.00", 150_000),
        ("1500", 150_000),
        ("1500.5", 150_050),
        ("1500.05", 150_005),
        ("0.01", 1),
        ("0.1", 10),
        ("0.10", 10),
        ("0.99", 99),
        ("1", 100),
        ("10.0", 1_000),
        ("99999999.99", MAX_AMOUNT_MINOR),
        ("100000.00", 10_000_000),
    ],
)
def test_parse_valid(text, minor):
    assert parse_amount(text) == minor


@pytest.mark.parametrize(
    "text",
    [
        "-1.00", "+1.00", "-0.01",  # signs
        "1e3", "1E3", "1.5e2",  # exponents
        " 1.00", "1.00 ", "1 000.00", "1\t.00", "\n1.00",  # spaces
        "1.001", "0.001", "1.000",  # three decimals
        "", ".", ".50", "1.", "01.00", "00.01", "1,00", "1,000.00",  # malformed
        "0x10", "١٢٣",  "１２", "NaN", "Infinity", "inf",  # not plain ASCII decimals
        "100000000", "100000000.00", "999999999.99",  # above the cap
    ],
)
def test_parse_refuses(text):
    with pytest.raises(AmountError):
        parse_amount(text)


@pytest.mark.parametrize("text", ["0", "0.0", "0.00"])
def test_zero_refused_unless_allowed(text):
    with pytest.raises(AmountError, match="greater than 0"):
        parse_amount(text)
    assert parse_amount(text, allow_zero=True) == 0


@pytest.mark.parametrize("value", [15, 15.0, None, b"1.00", ["1.00"], {"amount": "1.00"}, True])
def test_parse_refuses_non_strings(value):
    with pytest.raises(AmountError):
        parse_amount(value)


def test_cap_is_the_pattern_limit():
    assert format_amount(MAX_AMOUNT_MINOR) == "99999999.99"
    assert parse_amount("99999999.99") == MAX_AMOUNT_MINOR


@pytest.mark.parametrize(
    "minor, text",
    [(0, "0.00"), (1, "0.01"), (10, "0.10"), (100, "1.00"), (150_050, "1500.50"), (-150_050, "-1500.50"),
     (-1, "-0.01"), (MAX_AMOUNT_MINOR, "99999999.99"), (10**15, "10000000000000.00")],
)
def test_format(minor, text):
    assert format_amount(minor) == text


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_MINOR))
def test_round_trip(minor):
    text = format_amount(minor)
    assert re.fullmatch(r"[0-9]+\.[0-9]{2}", text)
    assert parse_amount(text) == minor
    assert format_amount(parse_amount(text)) == text


@given(st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR))
def test_round_trip_with_zero(minor):
    assert parse_amount(format_amount(minor), allow_zero=True) == minor


@given(st.integers(min_value=-MAX_AMOUNT_MINOR, max_value=-1))
def test_negative_formats_but_never_parses(minor):
    text = format_amount(minor)
    assert text.startswith("-")
    with pytest.raises(AmountError):
        parse_amount(text)


@given(st.text(max_size=14))
def test_parse_agrees_with_the_documented_pattern(text):
    """The OpenAPI schema documents AMOUNT_PATTERN: a string passes the pattern exactly
    when parse_amount accepts it (so the schema tells clients the whole rule)."""
    matches = re.fullmatch(AMOUNT_PATTERN, text) is not None
    try:
        parse_amount(text)
        accepted = True
    except AmountError:
        accepted = False
    assert matches == accepted, text
    matches_zero = re.fullmatch(AMOUNT_OR_ZERO_PATTERN, text) is not None
    try:
        parse_amount(text, allow_zero=True)
        accepted_zero = True
    except AmountError:
        accepted_zero = False
    assert matches_zero == accepted_zero, text


@given(st.from_regex(AMOUNT_PATTERN, fullmatch=True))
def test_every_pattern_match_parses(text):
    minor = parse_amount(text)
    assert 1 <= minor <= MAX_AMOUNT_MINOR
    whole, _, frac = text.partition(".")
    assert minor == int(whole) * 100 + int(frac.ljust(2, "0"))
