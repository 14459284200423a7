"""After `mutmut run` (.ci/mutation): the score, and each mutant not killed as file:line and
the mutation, then exit 1 under the goal. Reads mutmut's own results in mutants/."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from mutmut.__main__ import SourceFileMutationData, status_by_exit_code, walk_mutatable_files
from mutmut.mutation.diff_apply import get_diff_for_mutant

GOAL = float(sys.argv[1]) if len(sys.argv) > 1 else 90.0
KILLED = {"killed", "timeout"}  # a mutant that hangs the tests is caught as surely as one that fails them
HUNK = re.compile(r"^@@ -(\d+)")


def _def_line(path: Path, mutant: str) -> int:
    """The line of the mutated function's `def` (or its first decorator) in the source file."""
    qual = mutant.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[-1]
    parts = [p for p in qual.split("ǁ") if p] if "ǁ" in qual else [qual.removeprefix("x_")]
    node: ast.AST = ast.parse(path.read_text())
    for name in parts:
        node = next(n for n in ast.iter_child_nodes(node)
                    if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name)
    assert isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


def _where_and_what(path: Path, mutant: str) -> tuple[int, str]:
    diff = get_diff_for_mutant(mutant, path=path).splitlines()
    start, offset, removed, added = 1, 0, [], []
    for line in diff[2:]:
        if m := HUNK.match(line):
            start, offset = int(m.group(1)), 0
        elif line.startswith("-"):
            removed.append(line[1:].strip())
            if len(removed) == 1:
                first = offset
        elif line.startswith("+"):
            added.append(line[1:].strip())
        else:
            offset += 1
    if not removed:
        return _def_line(path, mutant), " / ".join(added)
    return _def_line(path, mutant) + start - 1 + first, f"{' / '.join(removed)}  ->  {' / '.join(added)}"


def main() -> int:
    counts: dict[str, int] = {}
    left: list[tuple[str, int, str, str]] = []
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for mutant, code in data.exit_code_by_key.items():
            status = status_by_exit_code[code]
            counts[status] = counts.get(status, 0) + 1
            if status not in KILLED and status != "skipped":
                line, what = _where_and_what(Path(path), mutant)
                left.append((str(path), line, status, what))
    judged = sum(n for s, n in counts.items() if s != "skipped")
    if not judged:
        print("no mutants: did `mutmut run` run?")
        return 1
    killed = sum(counts.get(s, 0) for s in KILLED)
    for path, line, status, what in sorted(left):
        print(f"{path}:{line}: {status}: {what}")
    score = 100 * killed / judged
    print(f"\n{', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}")
    print(f"mutation score: {killed} of {judged} mutants killed = {score:.1f} % (goal {GOAL:.0f} %)")
    return 0 if score >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
