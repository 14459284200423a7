"""The problem answers each route documents, derived from the code rather than listed by
hand (a list by hand drifted: POST /sandbox/scenarios documented a 409 `invalid_state`
while it answers `scenario_taken`).

A route's problems are the union of two parts:

- what its handler can raise: the `ApiError` classes named in the handler's source and,
  transitively, in every function of the sandbox it refers to (read with `ast`; names are
  resolved through the live modules, classes and module-level objects, without running
  anything). A name is enough: `raise NotFound(...)`, `NotFound.field(...)`, a class kept
  in a table. An exception class in an `except` clause is caught, not raised, and is not
  counted. The walk stops at the functions that only translate what others raised
  (`problem_answers`), so they add nothing of their own;
- what the layers before the route add, for the authenticated routes (those the gate
  wraps, sandbox/api/gate.py), by kind of route (`LAYERS`): the key check and the rate limit
  for all, the role check where the route names a role, the body checks for a POST that
  changes nothing, the idempotency key for one that does, the fault rules for the routes
  a merchant's rule can reach (not the exempt ones, sandbox/faults/exempt.py), and 503
  (the key is read from the database); and for any route, a 400 where Litestar validates
  its parameters or body.

The walk over-approximates rather than misses: a branch the handler never takes still
counts. It applies to every route in the spec, routes added later included, when the
spec is first built (`document`); a route's own `responses=` entries for other statuses
(/ready's 503 with its body) stay. tests/spec/test_problem_docs.py checks it against
answers the API gives, and the contract test (tests/spec/test_contract.py) checks every
problem code schemathesis meets against it."""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import textwrap
import types
from collections.abc import Callable, Iterable
from typing import Any

from litestar.handlers import HTTPRouteHandler

from sandbox.auth.keys import ROLE, authenticate, wrong_role
from sandbox.core import problem_answers
from sandbox.core.errors import PROBLEM_JSON, ApiError, Unavailable, ValidationFailed, problem_responses, render
from sandbox.core.strict_input import StrictRequest, refuse_unknown_query
from sandbox.faults import effects
from sandbox.faults.exempt import exempt
from sandbox.idempotency import body
from sandbox.idempotency.claims import MUTATING, READ_ONLY, IdempotencyMiddleware
from sandbox.ratelimits.limiter import RateLimitMiddleware

# Functions that pass on what others raised (a mapping, a renderer): walking them would
# count every error they know as raised by whoever calls them.
TRANSLATORS: frozenset[Callable] = frozenset({
    problem_answers.to_api_error, problem_answers.answer, problem_answers.exception_handler, render})


def _every(handler: HTTPRouteHandler, path: str) -> bool:
    return True


def _has_role(handler: HTTPRouteHandler, path: str) -> bool:
    return handler.opt.get(ROLE) is not None


def _checks_body(handler: HTTPRouteHandler, path: str) -> bool:
    return bool(MUTATING & set(handler.http_methods)) and bool(handler.opt.get(READ_ONLY))


def _claims_key(handler: HTTPRouteHandler, path: str) -> bool:
    return bool(MUTATING & set(handler.http_methods)) and not handler.opt.get(READ_ONLY)


def faultable(handler: HTTPRouteHandler, path: str) -> bool:
    """A merchant's fault rule can strike the route: a merchant key may call it (faults
    are a merchant's, sandbox/requests/journal.py) and it is not exempt."""
    return handler.opt.get(ROLE) != "admin" and not exempt(path)


# (which routes, the functions whose errors they add): the gate's layers, in its order.
LAYERS: tuple[tuple[Callable[[HTTPRouteHandler, str], bool], tuple[Callable, ...]], ...] = (
    (_every, (authenticate, RateLimitMiddleware.count)),
    (faultable, (effects.pick, effects.before, effects.after_commit)),
    (_has_role, (wrong_role,)),
    (_checks_body, (body.check_media_type, body.read_body, body.check_json, body.check_types)),
    (_claims_key, (IdempotencyMiddleware.handle,)),
)


def _takes_input(handler: HTTPRouteHandler) -> bool:
    """Litestar validates the handler's parameters and body (a 400 when they are wrong)."""
    return any(name not in ("self", "request", "state", "scope") for name in handler.parsed_fn_signature.parameters)


def route_errors(handler: HTTPRouteHandler, path: str, gated: bool = True) -> set[type[ApiError]]:
    """Every problem the route can answer; `gated`: the gate's layers run before it.
    (`ApiError` itself, the unexpected error, is what a bug answers: named in code only to
    catch or to map, it documents nothing.)"""
    found: set[type[ApiError]] = {Unavailable} if gated else set()
    if _takes_input(handler):
        found.add(ValidationFailed)
    walker = _Walker()
    walker.walk(handler.fn)
    # Both apps' own reading of every request: a query parameter the route does not declare
    # (every route of the spec is strict), and a JSON body for the handler's `data`.
    walker.walk(refuse_unknown_query)
    if "data" in handler.parsed_fn_signature.parameters:
        walker.walk(StrictRequest.json)
    for applies, functions in LAYERS if gated else ():
        if applies(handler, path):
            for fn in functions:
                walker.walk(fn)
    return (found | walker.errors) - {ApiError}


# What a fault rule makes a route answer (sandbox/faults/kinds.py), said on each status.
FAULT_NOTES = {
    429: "also a fault rule's `rate_limited`",
    500: "a fault rule's `error_after_commit`: the request's effect is committed, and a retry with the same "
         "idempotency key gets the true answer",
    503: "also a fault rule's `unavailable`",
}
FAULT_WORDS = ("A fault rule (POST /sandbox/faults) may also hold this answer (`slow`, `timeout`) or close the "
               "connection without one (`response_lost`).")


def api_routes(app) -> list[tuple[HTTPRouteHandler, str, bool]]:
    """Every route of the API's spec, with its path and whether the gate wraps it (the
    authenticated /api/v1 routes; /health and /ready are not)."""
    from sandbox.api.gate import Gate

    return [(handler, route.path, any(getattr(m, "middleware", None) is Gate for m in handler.resolve_middleware()))
            for route in app.routes for handler in getattr(route, "route_handlers", ())
            if isinstance(handler, HTTPRouteHandler) and handler.include_in_schema]


def document(app) -> frozenset[str]:
    """Set each route's problem responses from `route_errors` (to run before Litestar
    builds the spec; other statuses a route documents itself stay). Returns the operation
    ids a fault rule can reach."""
    reached = set()
    for handler, path, gated in api_routes(app):
        own = {status: spec for status, spec in (handler.responses or {}).items()
               if getattr(spec, "media_type", None) != PROBLEM_JSON}
        notes = FAULT_NOTES if gated and faultable(handler, path) else {}
        errors = sorted(route_errors(handler, path, gated), key=lambda e: (e.status, e.code))
        handler.responses = {**problem_responses(*errors, notes=notes), **own}
        if notes:
            reached.add(str(handler.operation_id))
    return frozenset(reached)


class _Walker:
    """The ApiError classes named in functions and what they refer to, each function read once."""

    def __init__(self, package: str = "sandbox") -> None:
        self.package = package  # only its functions are read: a library's raise none of ours
        self.errors: set[type[ApiError]] = set()
        self.seen: set[Any] = set()

    def walk(self, fn: Any) -> None:
        fn = inspect.unwrap(getattr(fn, "__func__", fn))
        if fn in self.seen or fn in TRANSLATORS or not isinstance(fn, types.FunctionType):
            return
        self.seen.add(fn)
        if fn.__module__.startswith(self.package):
            for found in _references(fn):
                self.take(found)

    def take(self, obj: Any) -> None:
        if isinstance(obj, type):
            if issubclass(obj, ApiError):
                self.errors.add(obj)
            elif obj.__module__.startswith(self.package) and "__init__" in vars(obj):
                self.walk(vars(obj)["__init__"])
        elif isinstance(obj, (staticmethod, classmethod)):
            self.walk(obj.__func__)
        elif isinstance(obj, property):
            for part in (obj.fget, obj.fset):
                if part is not None:
                    self.walk(part)
        elif isinstance(obj, (types.FunctionType, types.MethodType)):
            self.walk(obj)
        elif isinstance(obj, dict):  # a table of errors or of functions
            self._take_all(list(obj.values()))
        elif isinstance(obj, (tuple, list, frozenset, set)):
            self._take_all(list(obj))

    def _take_all(self, items: Iterable[Any]) -> None:
        for item in items:
            if isinstance(item, type) or callable(item):
                self.take(item)


_MISSING = object()


@functools.cache
def _references(fn: types.FunctionType) -> tuple[Any, ...]:
    """What the function's names refer to, but the exceptions it catches (read once: many
    routes reach the same functions)."""
    try:
        source = inspect.getsource(fn)
    except OSError:  # made at run time (a dataclass's or a Struct's __init__): raises none of ours
        return ()
    tree = ast.parse(textwrap.dedent(source))
    owner = _owner(fn)
    caught = {id(n) for node in ast.walk(tree) if isinstance(node, ast.ExceptHandler) and node.type
              for n in ast.walk(node.type)}
    found: dict[int, Any] = {}
    for node in ast.walk(tree):
        if id(node) in caught or not isinstance(node, (ast.Name, ast.Attribute)):
            continue
        obj = _resolve(node, fn, owner)
        if obj is not _MISSING:
            found.setdefault(id(obj), obj)
    return tuple(found.values())


def _owner(fn: types.FunctionType) -> type | None:
    """The class a method was defined in (what `self` and `cls` name)."""
    parts = fn.__qualname__.split(".")
    if len(parts) < 2 or "<locals>" in parts:
        return None
    obj: Any = inspect.getmodule(fn)
    for part in parts[:-1]:
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) else None


def _resolve(node: ast.expr, fn: types.FunctionType, owner: type | None) -> Any:
    """What a name or a dotted name refers to, read without running anything (no property
    is called), or _MISSING (a local, a parameter, anything only known at run time)."""
    if isinstance(node, ast.Name):
        if node.id in ("self", "cls") and owner is not None:
            return owner
        closure = {name: cell.cell_contents for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (),
                                                                  strict=True) if _filled(cell)}
        for scope in (closure, fn.__globals__, vars(builtins)):
            if node.id in scope:
                return scope[node.id]
        return _MISSING
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, fn, owner)
        if base is _MISSING:
            return _MISSING
        try:
            return inspect.getattr_static(base, node.attr)
        except AttributeError:
            return _MISSING
    return _MISSING


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018 (an empty cell raises)
    except ValueError:
        return False
    return True
