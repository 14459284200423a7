"""Reading a request body with a size limit, for middleware that must see it first.

Bodies up to `MEMORY_BYTES` stay in memory; a larger one (a route may allow more, like
a payout batch upload) goes to a temporary file as it arrives and is handed to the app
again in chunks, so memory stays bounded whatever the size.

Disk is bounded too. A spooled multipart upload is on disk twice while its request runs:
this file, and the file Litestar parses out of it (`UploadFile`, in the same temp dir).
Each API process spools at most SANDBOX_UPLOADS_AT_ONCE bodies at once (a body that
would be one more waits up to SPOOL_WAIT_S for a turn, then gets 503 with Retry-After),
so the temp dir (SANDBOX_UPLOAD_DIR, else the system's) holds at most SANDBOX_UPLOADS_AT_ONCE
× 2 × SANDBOX_BATCH_MAX_BYTES a process: a pod's `tmp` can be sized to it."""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl

import anyio
import msgspec
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import BodyKwarg
from litestar.types import Receive, ReceiveMessage, Scope

# The `multipart` distribution's module. With the [mcp] extra, starlette's python-multipart is
# installed too, whose `multipart` package hands the import over to this multipart.py at run
# time; a type checker reads that package instead, hence the ignore.
from multipart import MultipartError, MultipartSegment, PushMultipartParser  # pyright: ignore[reportAttributeAccessIssue]

from sandbox.core.errors import MalformedJson, PayloadTooLarge, Unavailable, UnsupportedMediaType, ValidationFailed
from sandbox.core.strict_input import decode_json, remember_json
from sandbox.settings import get_settings

MEMORY_BYTES = 1_048_576
SPOOL_WAIT_S = 30.0
CHUNK_BYTES = 65_536
FORM_FIELDS_MAX = 20
FORM_VALUE_MAX = 256
# No request of ours nests deeper than a few levels (a batch item's destination is 4). A
# limit far below the decoder's own recursion limit refuses hostile nesting with 400
# before anything (the idempotency fingerprint, the handler) decodes the body.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")


def _media_type(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return value.partition(b";")[0].strip().lower()
    return None


def _is_json(media: bytes | None) -> bool:
    return media is None or media == b"application/json" or media.endswith(b"+json")


def check_media_type(scope: Scope, accepts_files: bool) -> None:
    """JSON routes take JSON (`application/json` or a `+json` type); a body sent as text
    or a form is refused with 415 rather than guessed at. No Content-Type at all is read
    as JSON. A route that takes a file (marked `opt={"accepts_files": True}`) also takes
    multipart/form-data."""
    media = _media_type(scope)
    if media is None or _is_json(media):
        return
    if accepts_files and media == b"multipart/form-data":
        return
    allowed = "application/json or multipart/form-data" if accepts_files else "application/json"
    raise UnsupportedMediaType(f"Send the body as {allowed}, not {media.decode('latin-1')[:60]}")


def check_json(scope: Scope, body: Body) -> None:
    """A JSON body (see `check_media_type`) must be UTF-8 text, as JSON is by definition:
    other bytes inside a string would make the decoders further on (the idempotency
    fingerprint, the handler, a batch's rows) raise UnicodeDecodeError, not a JSON error.
    It must not nest deeper than MAX_JSON_DEPTH either."""
    if not _is_json(_media_type(scope)):
        return
    if not body.utf8:
        raise MalformedJson("The body is not UTF-8 text, as JSON must be")
    if body.in_memory:
        _check_json_depth(body.in_memory)


BODY_SHAPE = "body_shape"
"""A route's `opt` may name a check of its JSON body's shape (a function of the decoded
value that raises an ApiError), run before the types are checked: the gate refuses a shape
it does not model in its own words (sandbox/verdicts/shapes.py), not as a bare 400."""


def check_types(scope: Scope, body: Body) -> None:
    """A JSON body's values must have the types its schema says: a number as a JSON
    number, a boolean as true or false. Litestar converts a body to the handler's type
    leniently (msgspec's `strict=False`: `"5"` becomes 5.0, `"NaN"` a float that is then
    "not at least 0"), while it refuses a number where a string is due; so the body is
    checked strictly here first, and a refusal reads as every other 400 of a body. A
    number with a zero fraction (`5.0`) is an integer, as JSON Schema counts it."""
    raw = body.in_memory
    if not raw or not raw.strip() or not _is_json(_media_type(scope)):
        return
    target = _json_body_type(scope.get("route_handler"))
    if target is None:
        return
    # Decoded strictly (a key twice, a number out of range: sandbox/core/strict_input.py)
    # once, here: the handler's `Request.json` takes the value kept.
    value = decode_json(raw)
    remember_json(scope, value)
    if (shape := scope["route_handler"].opt.get(BODY_SHAPE)) is not None:
        shape(value)  # the route's own words for a shape it does not model, before the types' 400
    try:
        msgspec.convert(_integral(value), target, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationException(detail="Validation failed", extra=[
            {"message": str(exc), "key": "data", "source": "body"}]) from exc


def _integral(value):
    """JSON values with each whole-number float as an int (999.0 → 999)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def _json_body_type(handler) -> object | None:
    """The type of the route's JSON body (its handler's `data`), or None."""
    field = handler.parsed_fn_signature.parameters.get("data") if handler is not None else None
    if field is None or (isinstance(field.kwarg_definition, BodyKwarg)
                         and field.kwarg_definition.media_type != RequestEncodingType.JSON):
        return None
    return field.annotation


def _check_json_depth(raw: bytes) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH (brackets inside strings do not count)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return
    depth = 0
    for byte in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in _OPENING else -1
        if depth > MAX_JSON_DEPTH:
            raise MalformedJson(f"The JSON is nested too deep (at most {MAX_JSON_DEPTH} levels of arrays and objects)")


def _boundary(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media, _, params = value.partition(b";")
            if media.strip().lower() != b"multipart/form-data":
                return None
            for param in params.split(b";"):
                key, _, val = param.strip().partition(b"=")
                if key.lower() == b"boundary" and val:
                    return val.strip(b'"')
    return None


class Body:
    """A request body read once; its SHA-256 is taken on the way in. A multipart body
    also gets a digest of its content (each part's name, filename, type and bytes), the
    same whatever boundary the client picked, so a retry of an upload is the same request."""

    def __init__(self, boundary: bytes | None = None) -> None:
        self.size = 0
        self._digest = hashlib.sha256()
        self._memory = bytearray()
        self._bytes: bytes | None = None  # `in_memory`, once made
        self._file: anyio.AsyncFile | None = None
        self._slot: asyncio.Semaphore | None = None  # its turn to spool, while it holds a file
        self._parts: PushMultipartParser | None = PushMultipartParser(boundary) if boundary else None
        self._parts_digest = hashlib.sha256()
        # Small text fields of a multipart body (not files), for `form_value`.
        self._fields: dict[str, bytearray] = {}
        self._field: bytearray | None = None
        # Whether the bytes are UTF-8, checked as they arrive (bodies that are not multipart).
        self.utf8 = True
        self._utf8 = codecs.getincrementaldecoder("utf-8")() if boundary is None else None

    def content_sha256(self) -> str | None:
        """The multipart content digest, or None (not multipart, or not valid multipart)."""
        return self._parts_digest.hexdigest() if self._parts is not None and self._parts.closed else None

    def _digest_parts(self, chunk: bytes) -> None:
        assert self._parts is not None  # its callers check
        try:
            for event in self._parts.parse(chunk):
                if isinstance(event, MultipartSegment):
                    head = f"{event.name}\x00{event.filename}\x00{event.content_type}\x00".encode()
                    self._parts_digest.update(len(head).to_bytes(8, "big") + head)
                    small = event.filename is None and len(self._fields) < FORM_FIELDS_MAX
                    # (a part without a name is no field anyone can ask for)
                    self._field = (self._fields.setdefault(event.name, bytearray())
                                   if small and event.name is not None else None)
                elif event:
                    self._parts_digest.update(event)
                    if self._field is not None and len(self._field) + len(event) <= FORM_VALUE_MAX:
                        self._field.extend(event)
                else:
                    self._parts_digest.update(b"\x00part-end\x00")
        except MultipartError:
            self._parts = None  # the app refuses it; byte-for-byte comparison will do

    def _check_utf8(self, chunk: bytes, final: bool = False) -> None:
        if self._utf8 is None:
            return
        try:
            self._utf8.decode(chunk, final)
        except UnicodeDecodeError:
            self.utf8, self._utf8 = False, None

    def form_value(self, name: str) -> str | None:
        """A text field of a form body (URL-encoded, or multipart beside a file), or None."""
        if self._parts is not None:
            value = self._fields.get(name)
            return value.decode("utf-8", "replace") if value is not None else None
        raw = self.in_memory
        if raw is None:
            return None
        for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            if key == name:
                return value
        return None

    @property
    def in_memory(self) -> bytes | None:
        """The bytes, unless the body was large enough to go to disk (made once: the
        middleware's checks, the fingerprint and the handler each ask)."""
        if self._file is not None:
            return None
        if self._bytes is None:
            self._bytes = bytes(self._memory)
        return self._bytes

    def sha256(self) -> str:
        return self._digest.hexdigest()

    async def write(self, chunk: bytes) -> None:
        self._bytes = None
        self.size += len(chunk)
        self._digest.update(chunk)
        if self._parts is not None and chunk:
            self._digest_parts(chunk)
        self._check_utf8(chunk)
        if self._file is None and len(self._memory) + len(chunk) <= MEMORY_BYTES:
            self._memory.extend(chunk)
            return
        if self._file is None:
            self._slot = await _spool_slot()
            self._file = anyio.wrap_file(await anyio.to_thread.run_sync(tempfile.TemporaryFile))
            await self._file.write(bytes(self._memory))
            self._memory = bytearray()
        await self._file.write(chunk)

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._file is None:
            yield bytes(self._memory)
            return
        await self._file.seek(0)
        while chunk := await self._file.read(CHUNK_BYTES):
            yield chunk

    async def close(self) -> None:
        if self._file is not None:
            await self._file.aclose()
        if self._slot is not None:
            self._slot.release()
            self._slot = None


_slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None


async def _spool_slot() -> asyncio.Semaphore:
    """A turn to spool a body to disk (see the module's docstring); the caller releases it."""
    global _slots
    loop = asyncio.get_running_loop()
    if _slots is None or _slots[0] is not loop:  # one per event loop: a semaphore is bound to its loop
        _slots = (loop, asyncio.Semaphore(get_settings().uploads_at_once))
    slots = _slots[1]
    try:
        async with asyncio.timeout(SPOOL_WAIT_S):
            await slots.acquire()
    except TimeoutError:
        raise Unavailable(f"This API process is receiving {get_settings().uploads_at_once} other large upload(s)"
                          " (SANDBOX_UPLOADS_AT_ONCE); retry in a few seconds") from None
    return slots


def use_spool_dir(path: str | None) -> None:
    """Spool bodies and uploaded files under `path` (made if missing): this process's
    temporary files go there. None: the system's temp dir ($TMPDIR, else /tmp)."""
    if path is not None:
        Path(path).mkdir(parents=True, exist_ok=True)
        tempfile.tempdir = path


async def read_body(scope: Scope, receive: Receive, limit: int) -> Body:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                if int(value) > limit:
                    raise PayloadTooLarge(f"The body may be at most {limit} bytes")
            except ValueError:
                pass
    body = Body(_boundary(scope))
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                # The client left before the body's end (its Content-Length or last chunk):
                # what arrived may still parse (a complete multipart inside a longer
                # promised length), but an incomplete request must have no effect.
                raise ValidationFailed("The connection closed before the whole body arrived")
            chunk = message.get("body", b"")
            if body.size + len(chunk) > limit:
                raise PayloadTooLarge(f"The body may be at most {limit} bytes")
            await body.write(chunk)
            if not message.get("more_body", False):
                break
        if body._parts is not None:
            body._digest_parts(b"")  # end of input: closes the parser if the stream was complete
        body._check_utf8(b"", final=True)  # a sequence cut off at the end is not UTF-8 either
    except BaseException:
        await body.close()
        raise
    return body


def replay_receive(body: Body, receive: Receive) -> Receive:
    """A `receive` that hands the already-read body to the app (in chunks when it is on
    disk), then defers to the real one."""
    small = body.in_memory
    chunks = body.chunks()
    done = False

    async def _receive() -> ReceiveMessage:
        nonlocal done
        if done:
            return await receive()
        if small is not None:
            done = True
            return {"type": "http.request", "body": small, "more_body": False}
        chunk = await anext(chunks, None)
        if chunk is None:
            done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    return _receive
