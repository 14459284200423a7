"""The link between an attempt and a listener endpoint's stream (`sandbox listen`), through
Redis: the process that makes the attempt (a worker, or the API for the receiver audit) is
rarely the API process that holds the listener's stream, and the listener's
acknowledgement may reach any API process.

- Presence: each open stream keeps a member in `listen:{endpoint}:streams` (a sorted set
  scored by when it expires), renewed every few seconds by the stream; a stream that dies
  without a word expires there within `PRESENCE_S`.
- A request: the attempt pushes `{id, expires_at_ms, headers, body}` onto the endpoint's
  queue (`listen:{endpoint}:queue`) only if a stream is present, in one script; `Absent`
  otherwise (the attempt is then parked, not failed: `attempts.park`). A stream of the
  endpoint pops it and sends it down to its listener.
- The answer: the listener POSTs it back to the API, which publishes it on the channel the
  request's id names (`listen:answers:{process}`): the process that waits reads its
  channel, one subscription a process, and hands each answer to the attempt waiting for it.
- The id is `<process>.<n>.<tag>`: the process's random id and a count say where the answer
  goes, and are no secret (every stream of the process shows the same prefix, and the count
  follows on); the tag binds them to the endpoint the request was sent to, an HMAC-SHA256
  under a key derived from the server secret (`bound_id`). The API takes an answer only
  for an id whose tag matches the endpoint it was POSTed to (`sent_to`): another merchant,
  who sees ids of its own stream only, can neither reuse one of them nor make one for a
  request sent to someone else. The tag is checked in the API, before anything is
  published, so a refused answer reaches no attempt. Every process that delivers and every
  API process must share the server secret (they do: one data dir, or SANDBOX_SESSION_SECRET).

Nothing here is durable, and nothing needs to be: the delivery row is. A request or an
answer lost on the way (a stream or a listener killed mid-delivery) is an attempt that got
no answer within the deadline; it is recorded and retried as any such attempt is.

How many requests are in flight to one listener endpoint is bounded where every endpoint's
is, by the pool's slots (`Slots`: per merchant, per origin — a listener endpoint is its own
origin, with `SANDBOX_LISTEN_WINDOW` slots); the queue never holds more than those."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
import uuid

import msgspec

from sandbox import redis_client
from sandbox.auth.server_secret import derived
from sandbox.webhooks.delivery.clients import Answer, Failed
from sandbox.webhooks.model.urls import listener_of

log = logging.getLogger("sandbox.webhooks")

PRESENCE_S = 15.0  # a stream renews its presence every third of this
ANSWERS = "listen:answers:"
endpoint_of = listener_of


def streams_key(endpoint_id: str) -> str:
    return f"listen:{endpoint_id}:streams"


def queue_key(endpoint_id: str) -> str:
    return f"listen:{endpoint_id}:queue"


class Absent(Exception):
    """No listener is connected to the endpoint: the request was not sent."""


class ListenerDelivery(msgspec.Struct):
    """What goes down the stream: the signed request, exactly as a URL endpoint gets it."""

    id: str  # the answer's address, bound to the endpoint: `<process>.<n>.<tag>` (`bound_id`)
    expires_at_ms: int  # past this the attempt has given up waiting: not worth sending
    headers: dict[str, str]
    body: str  # the signed bytes, as UTF-8 text (JSON that msgspec wrote)


class Reply(msgspec.Struct):
    """A listener's answer to one request, as the API publishes it."""

    status_code: int | None
    latency_ms: int | None = None
    body_excerpt: str | None = None
    error: str | None = None
    retry_after: str | None = None
    location: str | None = None


# KEYS: streams, queue. ARGV: now (ms), the request, its expiry in ms from now.
# Pushes only if a stream is present (after dropping those that expired).
_PUSH = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
"""

_encode = msgspec.json.encode
_reply = msgspec.json.Decoder(Reply)


class Link:
    """One a process (`link()`): its answer channel and the attempts waiting on it."""

    def __init__(self) -> None:
        self.channel = ANSWERS + uuid.uuid4().hex
        self._waiting: dict[str, asyncio.Future[Reply]] = {}
        self._count = 0
        self._reader: asyncio.Task | None = None
        self._subscribed: asyncio.Event | None = None
        self._push = None

    async def _start(self) -> None:
        if self._reader is None or self._reader.done():
            self._subscribed = asyncio.Event()
            self._reader = asyncio.create_task(self._read())
        assert self._subscribed is not None
        await self._subscribed.wait()

    async def _read(self) -> None:
        """Read the process's channel for as long as the process lives, subscribing again
        after a lost connection (answers published meanwhile are lost: their attempts time
        out and are retried)."""
        assert self._subscribed is not None
        while True:
            try:
                await self._read_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis went away for a moment
                log.warning("listener answers: the subscription failed (%s: %s); subscribing again",
                            type(exc).__name__, exc)
                await asyncio.sleep(0.5)

    async def _read_once(self) -> None:
        assert self._subscribed is not None
        pubsub = redis_client.get().pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            self._subscribed.set()
            while True:
                # Shorter than the client's socket timeout (redis_client.SOCKET_TIMEOUT_S).
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                request_id, _, payload = bytes(message["data"]).partition(b" ")
                future = self._waiting.get(request_id.decode())
                if future is not None and not future.done():
                    try:
                        future.set_result(_reply.decode(payload))
                    except msgspec.DecodeError:
                        future.set_exception(Failed("the listener's answer was not readable"))
        finally:
            self._subscribed.clear()
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def deliver(self, url: str, content: bytes, headers: dict[str, str], deadline: float) -> Answer:
        """Send one request down the endpoint's stream and wait for the listener's answer
        (the caller holds the deadline). `Absent` when no listener is connected."""
        endpoint_id = endpoint_of(url)
        assert endpoint_id is not None
        await self._start()
        self._count += 1
        request_id = bound_id(endpoint_id, f"{self.channel[len(ANSWERS):]}.{self._count}")
        expires_ms = max(1, int(deadline * 1000))
        request = ListenerDelivery(request_id, int(time.time() * 1000) + expires_ms, headers, content.decode())
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            redis = redis_client.get()
            if self._push is None:
                self._push = redis.register_script(_PUSH)
            pushed = await self._push(keys=[streams_key(endpoint_id), queue_key(endpoint_id)],
                                      args=[int(time.time() * 1000), _encode(request), expires_ms])
            if not pushed:
                raise Absent(f"no listener connected to {endpoint_id}")
            reply = await future
        finally:
            del self._waiting[request_id]
        if reply.status_code is None:
            raise Failed(reply.error or "the listener could not reach its receiver")
        return Answer(reply.status_code, reply.body_excerpt, reply.retry_after, reply.location, reply.latency_ms)

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
            self._reader = None


_LINK: Link | None = None


def link() -> Link:
    global _LINK
    if _LINK is None:
        _LINK = Link()
    return _LINK


_TAG_LABEL = b"mypay-sandbox listener-request-id v1"
_TAG_HEX = 32  # 128 bits of the HMAC: an id stays within ListenerAck's 80 characters


def _tag(endpoint_id: str, address: str) -> bytes:
    mac = hmac.new(derived(_TAG_LABEL), f"{endpoint_id} {address}".encode(), hashlib.sha256)
    return mac.hexdigest()[:_TAG_HEX].encode()


def bound_id(endpoint_id: str, address: str) -> str:
    """A request's id: its answer's `address` (`<process>.<n>`) and the tag that binds it
    to the endpoint it is sent to."""
    return f"{address}.{_tag(endpoint_id, address).decode()}"


def sent_to(endpoint_id: str, request_id: str) -> bool:
    """Whether `request_id` is one the sandbox sent to this endpoint (compared in constant
    time): false for another endpoint's, a made-up or a malformed one."""
    address, dot, tag = request_id.rpartition(".")
    return bool(dot and address) and hmac.compare_digest(tag.encode(), _tag(endpoint_id, address))


def channel_of(request_id: str) -> str:
    """The channel a request's answer goes to (its id leads with the process's)."""
    return ANSWERS + request_id.partition(".")[0]


def answer_message(request_id: str, reply: Reply) -> bytes:
    return request_id.encode() + b" " + _encode(reply)
