"""The error table of docs/api-conventions.md is the registry of problem codes (ApiError and
its subclasses, which the spec's `Problem.code` enum is made from): every code at its status,
nothing the sandbox does not answer."""

from __future__ import annotations

import re
from pathlib import Path

import sandbox.api.app  # noqa: F401  (imports every domain, so every ApiError subclass is known)
from sandbox.core.errors import ApiError, OtherHttpError

PAGE = Path(__file__).resolve().parents[2] / "docs" / "api-conventions.md"
ROW = re.compile(r"^\| (\d{3}|other) \| (.+) \|$", re.M)
CODE = re.compile(r"`([a-z_]+)`")


def answered() -> set[tuple[str, str]]:
    """(status, code) of every problem class that names its own code."""
    found, todo = set(), [ApiError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "code" in vars(cls):
            # OtherHttpError carries the status of the HTTP error it stands for.
            found.add(("other" if cls is OtherHttpError else str(cls.status), cls.code))
    return found


def documented() -> set[tuple[str, str]]:
    # A row's codes are the backticked words before any parenthesis that explains them.
    return {(status, code) for status, cell in ROW.findall(PAGE.read_text())
            for code in CODE.findall(re.sub(r"\([^()]*(\([^()]*\)[^()]*)*\)", "", cell))}


def test_the_error_table_is_the_problem_codes() -> None:
    table, codes = documented(), answered()
    assert not codes - table, f"answered, missing from the error table of {PAGE.name}: {sorted(codes - table)}"
    assert not table - codes, f"in the error table of {PAGE.name}, never answered so: {sorted(table - codes)}"
