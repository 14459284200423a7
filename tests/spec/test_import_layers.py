"""The import graph between packages, read from the source with `ast` (imports inside
functions count too: a lazy import is still a dependency).

A unit is a folder under sandbox/ (a domain, or `core`), a top-level sandbox module
(`sandbox.db`, `sandbox.settings`, ...), `worker` or `ipn`. Two rules:

- `sandbox.core` is a kit of stateless helpers every package shares (errors, money,
  types and their wording, ids, pagination, timestamps, the clock): it imports no
  other package, owns no table and writes no SQL. What keeps state (auth, idempotency,
  observability, rate limits) is a package of its own beside the domains.
- No cycle between units: each one can be read, tested and changed knowing only what
  it imports."""

from __future__ import annotations

import ast
import itertools
import re
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOTS = ("sandbox", "worker", "ipn")
# What core may lean on: its own modules and the settings (the clock's time scale).
CORE_MAY_IMPORT = {"sandbox.core", "sandbox.settings"}
CORE = REPO / "sandbox" / "core"


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[0] if parts[0] != "sandbox" or len(parts) == 1 else f"sandbox.{parts[1]}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: resolve against this module's package
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    # `from sandbox import db` imports the module sandbox.db
    return [f"{base}.{alias.name}" for alias in node.names] if base == "sandbox" else [base]


def parse(path: Path) -> ast.Module:
    """ast.parse, asked again when CPython 3.11.7 raises "AST constructor recursion depth
    mismatch" (CPython gh-106905: the ast module's depth counter is shared by threads, and
    the suite's log thread parses too when it formats a traceback's carets)."""
    for _ in range(4):
        try:
            return ast.parse(path.read_text(), str(path))
        except SystemError:
            continue
    return ast.parse(path.read_text(), str(path))


def import_graph() -> dict[str, dict[str, set[str]]]:
    """unit → imported unit → the files that import it."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    paths = [path for root in ROOTS for path in (REPO / root).rglob("*.py")
             if "migrations" not in path.parts]  # migrations: generated snapshots of the tables
    for path in paths:
        module = module_name(path)
        for node in ast.walk(parse(path)):
            for target in imported(node, module, path.name == "__init__.py"):
                if target.split(".")[0] in ROOTS and unit_of(target) != unit_of(module):
                    graph[unit_of(module)][unit_of(target)].add(str(path.relative_to(REPO)))
    return graph


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path of units, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(unit: str) -> list[str] | None:
        state[unit] = 1
        path.append(unit)
        for nxt in sorted(edges.get(unit, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[unit] = 2
        return None

    for unit in sorted(edges):
        if unit not in state and (cycle := visit(unit)):
            return cycle
    return None


def test_core_imports_no_domain():
    outside = {target: files for target, files in import_graph()["sandbox.core"].items()
               if target not in CORE_MAY_IMPORT}
    assert outside == {}, f"sandbox.core imports domains: {outside}"


def test_core_owns_no_table_and_no_sql():
    """A Piccolo table or a statement in core would make it a domain in all but name."""
    sql = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE |ALTER )")
    found = {}
    for path in CORE.rglob("*.py"):
        tree = parse(path)
        tables = [node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
                  and any(ast.unparse(base).split(".")[-1] == "Table" for base in node.bases)]
        statements = [node.value[:40] for node in ast.walk(tree)
                      if isinstance(node, ast.Constant) and isinstance(node.value, str) and sql.search(node.value)]
        if tables or statements:
            found[str(path.relative_to(REPO))] = tables + statements
    assert found == {}, f"sandbox.core owns tables or SQL: {found}"


def test_no_import_cycle_between_packages():
    graph = import_graph()
    cycle = find_cycle({unit: set(targets) for unit, targets in graph.items()})
    assert cycle is None, "import cycle: " + " -> ".join(cycle) + "; imports: " + "; ".join(
        f"{a} -> {b} in {sorted(graph[a][b])}" for a, b in itertools.pairwise(cycle))


def test_the_finder_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


def module_graph() -> dict[str, set[str]]:
    """module → the modules of the package it imports (type-only imports too: a cycle read
    by a type checker is read by a person)."""
    graph: dict[str, set[str]] = defaultdict(set)
    paths = [path for root in ROOTS for path in (REPO / root).rglob("*.py") if "migrations" not in path.parts]
    known = {module_name(path) for path in paths}
    for path in paths:
        module = module_name(path)
        for node in ast.walk(parse(path)):
            for target in imported(node, module, path.name == "__init__.py"):
                while target and target not in known:  # `from a.b import name`: the module a.b
                    target = target.rpartition(".")[0]
                if target and target != module and not module.startswith(target + "."):
                    graph[module].add(target)
    return graph


def test_no_import_cycle_between_modules():
    """Inside a package too, each module can be read knowing only what it imports."""
    cycle = find_cycle(module_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
