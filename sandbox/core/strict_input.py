"""Input read one way only.

- A JSON body (`decode_json`, which every body decoder of the API and the IPN goes
  through) may not name a key twice in one object: msgspec, like most decoders, keeps the
  last value, while a proxy, a log or a WAF may read the first, and then the ledger and
  what the client's own tools saw disagree (`{"amount": "1.00", "amount": "2.00"}` made a
  2.00 payout). Refused with a 400 naming the key. A number too large for a float and a
  lone UTF-16 surrogate escape are named in words too, with the field they are in.
- A query parameter the route does not declare is refused with a 400 naming it
  (`refuse_unknown_query`, Litestar's `before_request` hook of both apps): a misspelled
  cursor (`?starting_after=`) otherwise answers the first page again, and a client that
  pages loops forever. Strict on every route of the published specs; the dashboard's HTML
  pages and the spec's own pages are not in them and stay lenient (`learn_query_names`)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.routes import HTTPRoute
from litestar.types import Empty

from sandbox.core.errors import FieldError, MalformedJson, ValidationFailed, clip, listing

TWICE = "appears more than once in the same object: send each key once"
TOO_LARGE = "is a number too large to represent (at most about 1.8e308 either way)"
LONE_SURROGATE = ("holds a lone UTF-16 surrogate escape (like \\ud800 without its pair), which is not a "
                  "character: JSON text must be Unicode")
_DECODER_WORDS = {"Input data was truncated": "the JSON ends before it is complete"}


def decode_json(raw: bytes) -> Any:
    """The JSON value of a body, refused in words when it is not one value read one way."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:  # msgspec.ValidationError is one too (a number out of range)
        raise _worded(raw, exc) from None
    refuse_duplicate_keys(raw, value)
    return value


_UNDECODED: Any = object()


def refuse_duplicate_keys(raw: bytes, decoded: Any = _UNDECODED) -> None:
    """A 400 naming the first key found twice in one object, at any depth.

    Cheap first: in JSON text a `:` either separates a key from its value or stands in a
    string. The decoded value, encoded again by msgspec, has each key once and its
    strings' colons as they are; so when the body holds as many colons as that, no key
    came twice. (A colon escaped as `\\u003a` is in a string without being among the
    body's bytes: such a body takes the long way.) That is an encode and two byte counts,
    in C: about 0.75 µs for a typical POST /payouts body, as much as decoding it (0.75 µs).
    Otherwise Python's json module reads the body again with a hook that sees each
    object's pairs before they become a dict (about 7 µs for the same body), and names the
    key. Without `decoded` (a body a typed decoder reads), it is decoded here first."""
    if decoded is _UNDECODED:
        try:
            decoded = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            return  # not JSON: the decoder that reads it says why
    if b"\\u003" not in raw and raw.count(b":") == msgspec.json.encode(decoded).count(b":"):
        return
    try:
        tree = json.loads(raw, object_pairs_hook=_object)
    except (ValueError, RecursionError):  # not JSON to Python either: the decoder that reads it says why
        return
    found = _first(tree, lambda node: isinstance(node, _Twice))
    if found is not None:
        path, node = found
        raise ValidationFailed.field(_join(path, node.twice), TWICE)


class _Twice(dict):
    """An object one of whose keys came more than once (`twice`: the first such key)."""

    twice: str = ""


def _object(pairs: list[tuple[str, Any]]) -> dict:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    twice = _Twice(obj)
    twice.twice = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
    return twice


def _walk(value: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every node of a JSON value with its path (keys and indexes), parents first; a
    key is a node too, at its object's path plus itself, so a bad key can be named."""
    todo: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while todo:
        path, node = todo.pop()
        yield path, node
        if isinstance(node, dict):
            for key, item in reversed(node.items()):
                todo.append(((*path, key), item))
                todo.append(((*path, key), key))
        elif isinstance(node, list):
            todo.extend(((*path, i), item) for i, item in reversed(list(enumerate(node))))


def _first(value: Any, test: Callable[[Any], bool]) -> tuple[tuple[str | int, ...], Any] | None:
    return next(((path, node) for path, node in _walk(value) if test(node)), None)


def _join(path: tuple[str | int, ...], last: str | None = None) -> str:
    """A field path as the API's other 400s name one: `destination.type`, `items[3].amount`."""
    text = ""
    for part in (*path, *((last,) if last is not None else ())):
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            # A key may hold anything, a lone surrogate included: shown escaped, never raw.
            name = part.encode("utf-8", "backslashreplace").decode()
            text += f".{name}" if text else name
    return text or "body"


def _lone_surrogate(node: Any) -> bool:
    if not isinstance(node, str):
        return False
    try:
        node.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _worded(raw: bytes, exc: msgspec.DecodeError) -> MalformedJson | ValidationFailed:
    """msgspec's message, with the field it is about: decoding to no type it names none
    ("Number out of range - at `$[...]`"), and it takes a lone surrogate escape for a body
    cut short. Python's json module reads both (as infinity, as a lone surrogate), so it
    finds where they are."""
    message = str(exc).partition(" - at `")[0]
    try:
        tree = json.loads(raw)
    except (ValueError, RecursionError):
        tree = None
    if tree is not None and message == "Number out of range":
        found = _first(tree, lambda node: isinstance(node, float) and math.isinf(node))
        return ValidationFailed.field(_join(found[0]) if found else "body", TOO_LARGE)
    if tree is not None and (found := _first(tree, _lone_surrogate)) is not None:
        field = _join(found[0])
        return MalformedJson(f"{clip(field, 100)}: {LONE_SURROGATE}", errors=[FieldError(field, LONE_SURROGATE)])
    return MalformedJson(f"The body could not be decoded: {_DECODER_WORDS.get(message, message)}")


class StrictRequest(Request):
    """Litestar's request, its JSON body read by `decode_json` (Litestar decodes a body
    for a handler's `data` through `Request.json`): both apps use it (`request_class`)."""

    async def json(self) -> Any:
        state = self._connection_state
        if state.json is Empty:  # a check before the handler may have decoded it already (`remember_json`)
            state.json = decode_json(await self.body() or b"null")
        return state.json


def remember_json(scope, value: Any) -> None:
    """Keep a body decoded before the handler (idempotency/body.py's type check), so the
    handler's `Request.json` does not decode and check it again."""
    from litestar.utils.scope.state import ScopeState

    ScopeState.from_scope(scope).json = value


# --- query parameters ---------------------------------------------------------------

QUERY_NAMES = "query_names"  # a strict route's `opt`: the query parameters it declares


def learn_query_names(app: Litestar, under: str | None = None) -> None:
    """Note on each route of the app's published spec, and every route `under` a prefix
    (the API's tools left out of its spec, Pact's), the query parameters it declares, as
    Litestar reads them for the handler (its own and its dependencies'): the names
    `refuse_unknown_query` lets through. The other routes (the dashboard's HTML pages,
    where a browser or a form may add a name; the spec's own pages; /metrics) get none
    and stay lenient."""
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler, kwargs_model in route.route_handler_map.values():
                if handler.resolve_include_in_schema() or (under is not None and route.path.startswith(under + "/")
                                                           and "OPTIONS" not in handler.http_methods):
                    handler.opt[QUERY_NAMES] = frozenset(p.field_alias for p in kwargs_model.expected_query_params)


async def refuse_unknown_query(request: Request) -> None:
    """A 400 naming each query parameter the route does not take (`before_request`).
    A coroutine though it awaits nothing: Litestar runs a plain function hook in a thread
    pool, a hand-off to another thread and back on every request (py-spy found it in 12%
    of the API's samples at 150 POST/s; as a coroutine the API's CPU a payout fell 5%)."""
    if not request.scope["query_string"]:
        return
    declared = request.route_handler.opt.get(QUERY_NAMES)
    if declared is None:
        return
    unknown = sorted(set(request.query_params) - declared)
    if not unknown:
        return
    takes = f"it takes {', '.join(sorted(declared))}" if declared else "it takes none"
    message = f"is not a query parameter of this route ({takes})"
    raise ValidationFailed(f"Unknown query parameter {listing(unknown)}: {takes}",
                           errors=[FieldError(name, message) for name in unknown])
