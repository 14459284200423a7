"""Settlement report cells: formula-looking text is escaped, numbers are not."""

import pytest

from sandbox.settlements.report import escape


@pytest.mark.parametrize("cell, expected", [
    ("=1+2", "'=1+2"), ("+cmd", "'+cmd"), ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("-100.00", "-100.00"), ("100.00", "100.00"), ("-5", "-5"),
    ("inv-7", "inv-7"), ("", ""), (None, ""), (12, "12"),
])
def test_escape(cell, expected):
    assert escape(cell) == expected
