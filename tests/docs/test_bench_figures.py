"""No figure written by hand: the figures the guides quote are those of the last recorded
bench runs (docs/bench-figures.json, each with its run's date and command). The Benchmark
page opens with them as a table, and a guide quotes one only as a link to that table whose
text is the figure: a figure that differs from the recorded run fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RECORDED = json.loads((REPO / "docs" / "bench-figures.json").read_text())["figures"]
QUOTE = re.compile(r"\[([^\]]+)\]\((?:docs/)?benchmark\.md#current-figures\)")


def table_rows(page: str) -> list[list[str]]:
    """The rows of the first table under `## Current figures`, as cells."""
    section = page.split("## Current figures", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]  # less the head and rule
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def test_the_benchmark_opens_with_the_recorded_figures() -> None:
    rows = table_rows((REPO / "docs" / "benchmark.md").read_text())
    expected = [[f["measure"], f["figure"], f["goal"] and f"{f['goal']} ({'met' if f['met'] else 'not met'})",
                 f"{f['run']}, `{f['command']}`"] for f in RECORDED]
    assert rows == expected, "docs/benchmark.md's current figures differ from docs/bench-figures.json"


def test_every_quoted_figure_is_the_recorded_one() -> None:
    figures = {f["figure"] for f in RECORDED}
    quoted = {(page.relative_to(REPO), text) for page in PAGES for text in QUOTE.findall(page.read_text())}
    wrong = sorted(str(q) for q in quoted if q[1] not in figures)
    assert not wrong, f"figures quoted that no recorded run gives (recorded: {sorted(figures)}): {wrong}"
    assert quoted, "no guide quotes a recorded figure (the CI guide and the README do)"
