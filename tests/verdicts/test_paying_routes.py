"""Every route that can pay declares it (sandbox/idempotency/paying.py), so the retries verdict
looks for a second payment after a fault on it (issue 91: a batch's upload and a
reinitiation were never looked at, the verdict knowing only routes ending in `/payouts`).

"Can pay" is derived here, not read from the declarations: a route can pay when its
handler reaches code that makes a payout row (SQL that inserts into `payout`, or calls the
database functions that do) or the plan that takes a payout out of `failed` (the only way
back to the rail, states.NEXT). Reaching is followed through the names each
function's source uses, resolved as Python resolves them (its module's globals, attribute
by attribute), into every function and class of the sandbox and the worker; a job's name
(a string constant handed to `enqueue`) leads to the job the worker runs under that name,
so a route whose payouts the worker makes (a batch) is found too. A new route that calls
any of this and does not declare it fails `test_every_route_that_can_pay_declares_it`;
`test_an_undeclared_paying_route_is_found` holds the derivation to that on a route made
for it."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from litestar import Litestar, post
from litestar.routes import HTTPRoute

from sandbox.idempotency import paying
from sandbox.idempotency.claims import MUTATING
from sandbox.payouts.lifecycle import planner
from sandbox.payouts.lifecycle import service as payout_service
from sandbox.payouts.model import states

# SQL that makes a payout row: an INSERT into the table, or the database functions that run one.
MAKES_A_PAYOUT = re.compile(r"INSERT\s+INTO\s+payout\s*\(|\bpayout_(create|insert)\s*\(", re.I)
OURS = ("sandbox.", "worker.")


def _ours(obj: object) -> bool:
    return (getattr(obj, "__module__", None) or "").startswith(OURS)


CONTAINERS = (dict, list, tuple, set, frozenset)


def _members(table: object, depth: int = 3) -> Iterator[object]:
    """The functions and classes of ours a table holds (a dict of tuples of functions, ...)."""
    values = table.values() if isinstance(table, dict) else table if isinstance(table, CONTAINERS) else ()
    for v in values:  # type: ignore[union-attr]
        if (inspect.isfunction(v) or inspect.isclass(v)) and _ours(v):
            yield v
        elif depth and isinstance(v, CONTAINERS):
            yield from _members(v, depth - 1)


class Reach:
    """What a function reaches, by the names its source uses (see the module's doc)."""

    def __init__(self, jobs: dict[str, Callable]) -> None:
        self.jobs = jobs  # a job's name → the function the worker runs for it
        self.sinks: dict[object, str] = {planner.reinitiate: "takes a payout out of `failed`"}
        self._parsed: dict[int, list[object]] = {}  # a function's names, parsed once for every route

    def _names(self, fn: Callable) -> list[object]:
        if id(fn) not in self._parsed:
            self._parsed[id(fn)] = list(self._parse(fn))
        return self._parsed[id(fn)]

    def _parse(self, fn: Callable) -> Iterator[object]:
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        except (OSError, TypeError, SyntaxError):
            return
        scope = getattr(fn, "__globals__", {})
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield node.value
            elif isinstance(node, ast.Attribute | ast.Name):
                chain: list[str] = []
                while isinstance(node, ast.Attribute):
                    chain.insert(0, node.attr)
                    node = node.value
                if not isinstance(node, ast.Name) or node.id not in scope:
                    continue
                obj = scope[node.id]
                yield obj
                for attr in chain:
                    if not isinstance(obj, ModuleType | type) or not hasattr(obj, attr):
                        break
                    obj = getattr(obj, attr)
                    yield obj

    def why(self, fn: Callable) -> str | None:
        """How `fn` can pay (the path to what pays), or None."""
        todo: list[tuple[object, str]] = [(inspect.unwrap(fn), fn.__qualname__)]
        seen: set[int] = set()
        while todo:
            current, path = todo.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            if current in self.sinks:
                return f"{path}: {self.sinks[current]}"
            for obj in self._names(current):  # type: ignore[arg-type]
                if isinstance(obj, str):
                    if MAKES_A_PAYOUT.search(obj):
                        return f"{path}: makes a payout row ({obj.strip()[:40]}…)"
                    if obj in self.jobs:
                        todo.append((inspect.unwrap(self.jobs[obj]), f"{path} → job {obj}"))
                elif isinstance(obj, CONTAINERS):  # a table of functions
                    todo.extend((v, f"{path} → {getattr(v, '__qualname__', v)}") for v in _members(obj))
                elif inspect.ismethod(obj) and _ours(obj.__func__):
                    todo.append((obj.__func__, f"{path} → {obj.__qualname__}"))
                elif (inspect.isfunction(obj) or inspect.isclass(obj)) and _ours(obj):  # a class: its whole source
                    todo.append((obj if obj in self.sinks else inspect.unwrap(obj), f"{path} → {obj.__qualname__}"))
                elif _ours(type(obj)) and hasattr(obj, "__dict__"):  # an instance: its class, its functions
                    todo.append((type(obj), f"{path} → {type(obj).__qualname__}"))
                    todo.extend((v, f"{path} → {v.__qualname__}") for v in vars(obj).values()
                                if inspect.isfunction(v) and _ours(v))
        return None


def mutating_routes(app: Litestar) -> Iterator[tuple[str, str, Callable, dict]]:
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in sorted(MUTATING & set(handler.http_methods)):
                    yield method, route.path_format, handler.fn, handler.opt


@pytest.fixture(scope="module")
def reach(stack) -> Reach:
    from worker.main import build_worker

    functions = build_worker(shared_connections=True).functions
    return Reach({name: job.coroutine for name, job in functions.items()})


def test_the_only_way_out_of_failed_is_the_reinitiation_the_derivation_names():
    assert states.NEXT[states.FAILED] == frozenset({states.PENDING})


def test_every_route_that_can_pay_declares_it(reach):
    from sandbox.api.app import create_app

    app = create_app()
    found = {(method, path): why for method, path, fn, _ in mutating_routes(app) if (why := reach.why(fn))}
    declared = {(method, path) for method, path, _, opt in mutating_routes(app) if opt.get(paying.PAYS)}
    assert {route: found[route] for route in found.keys() - declared} == {}, "routes that can pay, undeclared"
    assert declared - found.keys() == set(), "declared as paying, yet they reach nothing that pays"
    # What the verdict reads is what the routes declare, for every paying API route.
    assert {r for r in paying.DECLARED if r[1].startswith("/api/")} == {r for r in found if r[1].startswith("/api/")}
    assert {("POST", "/api/v1/payouts"), ("POST", "/api/v1/payouts/{payout_id}/reinitiate"),
            ("POST", "/api/v1/payout-batches"), ("POST", "/api/v1/payout-batches/{batch_id}/retry")} <= found.keys()


def test_an_undeclared_paying_route_is_found(reach):
    """A route made for the test, that pays through the service POST /payouts uses and
    declares nothing; and one that pays through a job: both found, with the path."""

    @post("/pay-it-all", sync_to_thread=False)
    def pays() -> None:
        payout_service.create  # noqa: B018 - reached, as a call would be

    @post("/later", sync_to_thread=False)
    def enqueues() -> None:
        from sandbox.batches import service

        service.RETRY_JOB  # noqa: B018

    @post("/reads", sync_to_thread=False)
    def reads() -> None:
        states.FINAL  # noqa: B018

    app = Litestar([pays, enqueues, reads])
    found = {path: reach.why(fn) for _, path, fn, _ in mutating_routes(app)}
    assert found["/pay-it-all"] is not None and "makes a payout row" in found["/pay-it-all"]
    assert found["/reads"] is None
    # The import inside the handler is not in its module's globals: `service` resolves only
    # when the module imported it, as the sandbox's routes do. The job by name, directly:
    assert reach.why(lambda: "retry_payout_batch") is not None
