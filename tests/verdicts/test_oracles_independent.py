"""The oracles judge by rules of their own: tests/verdicts/oracles.py imports nothing of the
sandbox, and the histories it is fed (histories.py) nothing of the judge (the verdicts, the
coverage, the retries' verdict, the audit) nor its rule of "the same account"."""

from __future__ import annotations

import ast
from pathlib import Path

HERE = Path(__file__).parent
JUDGE = ("sandbox.verdicts", "sandbox.coverage", "sandbox.requests.verdict", "sandbox.webhooks.audit")


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return names


def test_the_oracles_import_nothing_of_the_sandbox():
    assert not [n for n in imported(HERE / "oracles.py") if n.split(".")[0] in ("sandbox", "worker", "ipn")]


def test_the_histories_import_nothing_of_the_judge():
    names = imported(HERE / "histories.py")
    assert not [n for n in names if n.startswith(JUDGE)]
    assert "account_of" not in (HERE / "histories.py").read_text()
