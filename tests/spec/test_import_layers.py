"""The import graph, read from the source with `ast` (imports inside functions count too:
a lazy import is still a dependency).

Between packages. A unit is a folder under sandbox/ (a domain, `core`, `api`,
`runtime`, ...), a top-level sandbox module (`sandbox.db`, `sandbox.settings`, ...),
`worker` or `ipn`. Two rules:

- `sandbox.core` is a kit of stateless helpers every package shares (errors, money,
  types and their wording, ids, pagination, timestamps, the clock): it imports no
  other package, owns no table and writes no SQL. What keeps state (auth, idempotency,
  observability, rate limits) is a package of its own beside the domains.
- No cycle between units, nor between modules: each one can be read, tested and changed
  knowing only what it imports.

Inside a domain split into sub-packages by concern (`LAYERS`): each sub-package imports
only those below it (the HTTP face over the lifecycle over the store, the model under
all), and every module of the domain sits in one of them. No folder under sandbox/ holds
more than twelve modules directly: past that, a folder is split by concern."""

from __future__ import annotations

import ast
import functools
import itertools
import re
from collections import defaultdict
from pathlib import Path

import sandbox

# Where the modules that `import sandbox` finds are: the checkout (installed editable), or
# site-packages when the suite runs against an installed wheel (.ci/debian, which copies the
# tests in without the package's own sources): the code read is the code that runs.
SOURCES = Path(sandbox.__file__).resolve().parents[1]
ROOTS = ("sandbox", "worker", "ipn")
# What core may lean on: its own modules and the settings (the clock's time scale).
CORE_MAY_IMPORT = {"sandbox.core", "sandbox.settings"}
CORE = SOURCES / "sandbox" / "core"


def test_the_sources_read_are_the_package_imported():
    """Every rule below reads these files: none found would pass them all unread."""
    for root in ROOTS:
        assert (SOURCES / root / "__init__.py").is_file(), f"{root} is not beside sandbox in {SOURCES}"
    assert len(list((SOURCES / "sandbox").rglob("*.py"))) > 100


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[0] if parts[0] != "sandbox" or len(parts) == 1 else f"sandbox.{parts[1]}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCES).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """What an import statement names, most precisely: `from a.b import c` names `a.b.c`,
    which is the module a.b.c if there is one (`from sandbox.payouts.lifecycle import
    planner`) and otherwise a name inside a.b; callers cut it back to the module."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: resolve against this module's package
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    return [f"{base}.{alias.name}" for alias in node.names]


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


def sources() -> list[Path]:
    """Every module read here (migrations left out: generated snapshots of the tables)."""
    return [path for root in ROOTS for path in (SOURCES / root).rglob("*.py") if "migrations" not in path.parts]


@functools.cache
def imports_of(path: Path) -> tuple[str, ...]:
    """What the module at `path` imports, read once per test process: every test here
    reads the same source (a whole parse of it per test was 10 s of CPU a run)."""
    module = module_name(path)
    return tuple(target for node in ast.walk(parse(path))
                 for target in imported(node, module, path.name == "__init__.py"))


def import_graph() -> dict[str, dict[str, set[str]]]:
    """unit → imported unit → the files that import it."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sources():
        module = module_name(path)
        for target in imports_of(path):
            if target.split(".")[0] in ROOTS and unit_of(target) != unit_of(module):
                graph[unit_of(module)][unit_of(target)].add(str(path.relative_to(SOURCES)))
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
            found[str(path.relative_to(SOURCES))] = tables + statements
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
    paths = sources()
    known = {module_name(path) for path in paths}
    for path in paths:
        module = module_name(path)
        for target in imports_of(path):
            while target and target not in known:  # `from a.b import name`: the module a.b
                target = target.rpartition(".")[0]
            if target and target != module and not module.startswith(target + "."):
                graph[module].add(target)
    return graph


def test_no_import_cycle_between_modules():
    """Inside a package too, each module can be read knowing only what it imports."""
    cycle = find_cycle(module_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


# Inside a domain split by concern: which sub-package may import which (besides its own
# modules). Nothing imports upward. "" is the domain's own folder, where a layer of that
# name is listed; elsewhere a module directly in the domain's folder is out of place.
LAYERS: dict[str, dict[str, set[str]]] = {
    "sandbox.payouts": {
        "api": {"lifecycle", "model"},  # the HTTP face, thin: never the SQL
        "lifecycle": {"store", "model"},  # made, checked, moved: the transaction is opened here
        "store": {"model"},  # the table and its SQL
        "model": set(),  # what a payout is, with no database
    },
    "sandbox.webhooks": {
        "api": {"audit", "endpoints", "listeners", "model"},
        "listeners": {"delivery", "store", "model"},  # a listener's stream and its answers
        "audit": {"delivery", "store", "model"},  # the audit sends through the delivery path
        "delivery": {"store", "model"},
        "endpoints": {"store", "model"},  # what a merchant manages: endpoints, the event log
        "store": {"model"},
        "model": set(),
    },
    "sandbox.bench": {
        "": {"standalone", "harness"},  # `sandbox bench` and its phases
        "standalone": {"harness"},
        "servers": {"harness"},
        "harness": set(),
    },
}
LIMIT = 12
LIMIT_EXEMPT = {"sandbox/migrations"}  # Piccolo reads a Piccolo app's migrations from one folder


def layer_of(module: str, domain: str, packages: set[str] | frozenset[str]) -> str | None:
    """The sub-package of `domain` a module is in ("" directly in its folder), or None."""
    if not module.startswith(domain + "."):
        return None
    rest = module[len(domain) + 1:].split(".")
    return rest[0] if len(rest) > 1 or module in packages else ""


def layer_violations(graph: dict[str, set[str]], layers: dict[str, dict[str, set[str]]],
                     packages: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """What breaks `layers` in a graph of module -> the modules it imports; `packages` are
    the modules that are packages (their `__init__`)."""
    found = []
    for module, targets in sorted(graph.items()):
        for domain, allowed in layers.items():
            source = layer_of(module, domain, packages)
            if source is None:
                continue
            if source not in allowed:
                found.append(f"{module}: not in any layer of {domain} ({', '.join(sorted(allowed))})")
                continue
            for target in sorted(targets):
                to = layer_of(target, domain, packages)
                if to is not None and to != source and to not in allowed[source]:
                    may = ", ".join(sorted(allowed[source]))
                    found.append(f"{module} imports {target}: {domain}'s {source or 'own folder'} may import "
                                 + (f"only {may}" if may else f"nothing else of {domain}"))
    return found


def test_each_split_domain_imports_downward_only():
    graph = module_graph()
    paths = [path for root in ROOTS for path in (SOURCES / root).rglob("*.py")]
    packages = {module_name(path) for path in paths if path.name == "__init__.py"}
    violations = layer_violations({module_name(p): graph.get(module_name(p), set()) for p in paths},
                                  LAYERS, packages)
    assert violations == [], "\n".join(violations)


def test_the_layer_check_sees_an_upward_import():
    upward = {"sandbox.payouts.store.repository": {"sandbox.payouts.api.controllers"}}
    assert layer_violations(upward, LAYERS) == [
        "sandbox.payouts.store.repository imports sandbox.payouts.api.controllers: "
        "sandbox.payouts's store may import only model"]
    stray = {"sandbox.webhooks.client": set()}
    assert layer_violations(stray, LAYERS) == [
        "sandbox.webhooks.client: not in any layer of sandbox.webhooks "
        "(api, audit, delivery, endpoints, listeners, model, store)"]
    assert layer_violations({"sandbox.payouts.api.controllers": {"sandbox.payouts.lifecycle.service"}},
                            LAYERS) == []


def test_no_folder_holds_more_than_twelve_modules():
    crowded = {}
    for folder in sorted({path.parent for path in (SOURCES / "sandbox").rglob("*.py")}):
        names = sorted(p.stem for p in folder.glob("*.py") if p.name != "__init__.py")
        where = str(folder.relative_to(SOURCES))
        if len(names) > LIMIT and where not in LIMIT_EXEMPT:
            crowded[where] = names
    assert crowded == {}, f"more than {LIMIT} modules in one folder: split it by concern: {crowded}"


def test_only_the_mcp_package_imports_the_optional_sdk():
    """`mcp` is the optional extra `mypay-sandbox[mcp]`: only sandbox.mcp imports it, and only
    the CLI imports sandbox.mcp (its `command` module, which defers the SDK to `sandbox mcp`),
    so the API, worker and IPN start without it."""
    sdk = set()
    for path in sources():
        if any(t.split(".")[0] == "mcp" for t in imports_of(path)):
            sdk.add(unit_of(module_name(path)))
    assert sdk == {"sandbox.mcp"}, f"the MCP SDK is imported by {sdk}, not by sandbox.mcp alone"
    users = {unit for unit, targets in import_graph().items() if "sandbox.mcp" in targets}
    assert users == {"sandbox.cli"}, f"sandbox.mcp imported by {users}, not by the CLI alone"


def test_the_surfaces_outside_the_server_share_the_client_not_the_test_helpers():
    """The HTTP client on the API has a room of its own (sandbox.client): the MCP server, the
    CI commands and the test helpers use it, and it leans on none of them. A production
    surface never imports a package named for tests to reach the API."""
    graph = import_graph()
    assert "sandbox.client" in graph.get("sandbox.mcp", {}), "the MCP server no longer uses sandbox.client"
    assert "sandbox.client" in graph.get("sandbox.ci_commands", {}), "the CI commands no longer use sandbox.client"
    for surface in ("sandbox.client", "sandbox.mcp", "sandbox.ci_commands"):
        assert "sandbox.testing" not in graph.get(surface, {}), (
            f"{surface} imports sandbox.testing: {sorted(graph[surface]['sandbox.testing'])}")
    leans_on = set(graph.get("sandbox.client", {})) - {"sandbox.core", "sandbox.settings"}
    # the answers it reads are typed by the server's own schemas, and nothing else of the server
    # sandbox.guards: pure rules on the standard library alone (how a key is named in words).
    allowed = {"sandbox.verdicts", "sandbox.coverage", "sandbox.guards"}
    assert leans_on <= allowed, f"sandbox.client leans on {sorted(leans_on)}"
