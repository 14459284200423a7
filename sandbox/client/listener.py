"""`sandbox listen --forward-to URL`: a listener endpoint's far end (docs/listening.md).

It opens the merchant's listener endpoint (POST /webhook-listeners: made on first use,
found again by `--name` after), prints its signing secret, and holds the endpoint's stream
(server-sent events) open, reconnecting when it drops. Each `delivery` the stream sends is
POSTed to the local URL as it came (the same headers, the same bytes: the signature holds),
and the receiver's status, latency and the start of its body go back in batches to the
stream's `acks` route; one line per delivery is printed.

Bounded: at most `IN_FLIGHT` deliveries are being forwarded at once; while they are, the
stream is not read, so the sandbox's window fills and it sends no more (a slow receiver
slows the stream). Answers wait in a queue of at most `IN_FLIGHT` too."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
import httpx
import msgspec
from httpx_sse import ServerSentEvent, aconnect_sse

from sandbox.client.blocking import tls

IN_FLIGHT = 64  # deliveries being forwarded at once
MOST_ACKS = 100  # answers one POST carries (the API's most)
EXCERPT_BYTES = 1024  # of the receiver's body, sent back
RECONNECT_S = (0.2, 0.5, 1.0, 2.0, 5.0)  # waits between attempts to reopen the stream
RECEIVER_TIMEOUT_S = 15.0  # the sandbox's own deadline for one webhook request
# The stream's last event when the server stops (sandbox/health/going_away.py): reconnect
# after its `retry`, counted as no failure.
GOING_AWAY = "going_away"
# Its last event when the key that opened it stops working (sandbox/auth/held.py): the key
# cannot open it again, so the command says why and exits `KEY_STOPPED`, never reconnecting.
KEY_REVOKED = "key_revoked"
KEY_STOPPED = 3


class KeyStopped(Exception):
    """The stream ended because its key stopped working; the message says why, in words."""


def key_stopped(event: ServerSentEvent) -> KeyStopped:
    try:
        said = msgspec.json.decode(event.data)
        reason = f"{said['reason']} ({said['code']})"
    except (msgspec.DecodeError, KeyError, TypeError):
        reason = event.data[:300]
    return KeyStopped(f"the sandbox ended the stream: {reason}")


def reconnect_after(event: ServerSentEvent) -> float:
    """Seconds to wait before reconnecting, as the going-away event's `retry` says."""
    return (event.retry if event.retry is not None else RECONNECT_S[0] * 1000) / 1000


class ListenerDelivery(msgspec.Struct):
    id: str
    expires_at_ms: int
    headers: dict[str, str]
    body: str


class Envelope(msgspec.Struct):
    type: str = "?"


_request = msgspec.json.Decoder(ListenerDelivery)
_envelope = msgspec.json.Decoder(Envelope)


@dataclass
class Options:
    url: str  # the sandbox's root (or …/api/v1)
    key: str
    forward_to: str
    events: list[str] = field(default_factory=lambda: ["*"])
    name: str = "default"
    out: Callable[[str], None] = print
    err: Callable[[str], None] = lambda line: print(line, file=sys.stderr)


def api_client(url: str, key: str) -> httpx.AsyncClient:
    root = url.rstrip("/").removesuffix("/api/v1")
    # No read timeout: the stream is quiet while no event happens (a comment every 5 s).
    return httpx.AsyncClient(base_url=root + "/api/v1", headers={"X-API-KEY": key}, verify=tls(),
                             timeout=httpx.Timeout(30.0, read=None), trust_env=False)


async def open_endpoint(api: httpx.AsyncClient, name: str, events: list[str]) -> dict:
    """The listener endpoint (`WebhookListener`); raises httpx.HTTPStatusError when refused."""
    answer = await api.post("/webhook-listeners", json={"name": name, "events": events},
                            headers={"X-Idempotency-Key": uuid.uuid4().hex})
    if answer.status_code != 200:
        detail = answer.json().get("detail") if answer.headers.get("content-type", "").endswith("json") else None
        raise httpx.HTTPStatusError(f"{answer.status_code}: {detail or answer.text[:200]}", request=answer.request,
                                    response=answer)
    return answer.json()


class Listener:
    def __init__(self, options: Options, api: httpx.AsyncClient, opened: dict) -> None:
        self.options = options
        self.api = api
        self.opened = opened
        self.announced = False
        self.stream_path = opened["stream"].removeprefix("/api/v1")
        self.acks_path = opened["acks"].removeprefix("/api/v1")
        # aiohttp, as the worker's own deliveries: httpx's pool looks at each of its
        # IN_FLIGHT connections on every request, which was three quarters of this
        # process's CPU a delivery (py-spy, 28 Nov; docs/benchmark-history.md).
        self.receiver = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=IN_FLIGHT, ssl=tls()),
            cookie_jar=aiohttp.DummyCookieJar(), trust_env=False, auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=RECEIVER_TIMEOUT_S), skip_auto_headers=("User-Agent",))
        self.slots = asyncio.Semaphore(IN_FLIGHT)
        self.answers: asyncio.Queue[tuple[dict, int]] = asyncio.Queue(maxsize=IN_FLIGHT)  # (answer, expires_at_ms)
        self.tasks: set[asyncio.Task] = set()
        self.forwarded = 0

    def _announce(self) -> None:
        """"Ready!" once the stream is open, not before: a delivery (or an audit) asked for
        after this line reaches the receiver; asked for before it, it could wait unseen."""
        if self.announced:
            return
        self.announced = True
        endpoint = self.opened["endpoint"]
        self.options.out(f"Ready! Your webhook signing secret is {self.opened['secret']} (listener endpoint "
                         f"{endpoint['id']}, name {self.options.name}, events {','.join(endpoint['events'])})")
        self.options.out(f"Forwarding to {self.options.forward_to}; Ctrl-C to stop.")

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_answers())
        try:
            failures = 0
            while True:
                going_away: ServerSentEvent | None = None
                try:
                    async with aconnect_sse(self.api, "GET", self.stream_path) as source:
                        if source.response.status_code != 200:
                            await source.response.aread()
                            raise httpx.HTTPStatusError(f"the stream answered {source.response.status_code}",
                                                        request=source.response.request, response=source.response)
                        async for event in source.aiter_sse():
                            if event.event == "ready":
                                failures = 0
                                self._announce()
                            elif event.event == "delivery":
                                await self.slots.acquire()
                                task = asyncio.create_task(self._forward(_request.decode(event.data)))
                                self.tasks.add(task)
                                task.add_done_callback(self.tasks.discard)
                            elif event.event == GOING_AWAY:
                                going_away = event
                            elif event.event == KEY_REVOKED:
                                raise key_stopped(event)
                    why = "the sandbox closed the stream"
                except httpx.HTTPStatusError as exc:
                    if exc.response.status_code in (401, 403, 404):
                        raise
                    why = str(exc)
                except (httpx.HTTPError, OSError) as exc:
                    why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if going_away is not None:
                    # What the stream did not send is still queued for this endpoint (and what was
                    # sent and not answered is retried): the next stream, of this server or
                    # another, starts from there.
                    failures, why, wait = 0, "the sandbox is stopping", reconnect_after(going_away)
                else:
                    wait = RECONNECT_S[min(failures, len(RECONNECT_S) - 1)]
                    failures += 1
                self.options.err(f"stream lost ({why}); reconnecting in {wait:g} s")
                await asyncio.sleep(wait)
        finally:
            sender.cancel()
            for task in list(self.tasks):
                task.cancel()
            with contextlib.suppress(BaseException):
                await sender
            await self.receiver.close()

    async def _forward(self, request: ListenerDelivery) -> None:
        try:
            answer = await self._post(request)
            await self.answers.put((answer, request.expires_at_ms))
            self._print(request, answer)
        finally:
            self.slots.release()

    async def _post(self, request: ListenerDelivery) -> dict:
        left = request.expires_at_ms / 1000 - time.time()
        started = time.perf_counter()
        answer: dict = {"id": request.id, "status_code": None}
        try:
            async with asyncio.timeout(max(0.05, min(left, RECEIVER_TIMEOUT_S))):
                async with self.receiver.post(self.options.forward_to, data=request.body.encode(),
                                              headers=request.headers, allow_redirects=False) as response:
                    read = bytearray()
                    while len(read) < EXCERPT_BYTES and (chunk := await response.content.read(EXCERPT_BYTES)):
                        read += chunk
                    answer.update(status_code=response.status,
                                  body_excerpt=bytes(read[:EXCERPT_BYTES]).decode("utf-8", "replace") or None,
                                  retry_after=response.headers.get("retry-after"),
                                  location=(response.headers.get("location") or "")[:2048] or None)
        except TimeoutError:
            answer["error"] = f"timeout: {self.options.forward_to} did not answer in time"
        except (aiohttp.ClientError, ValueError) as exc:  # ValueError: a URL aiohttp cannot use
            kind = "ConnectError" if isinstance(exc, aiohttp.ClientConnectorError) else type(exc).__name__
            answer["error"] = f"{kind}: {exc}"[:500]
        answer["latency_ms"] = round((time.perf_counter() - started) * 1000)
        return answer

    def _print(self, request: ListenerDelivery, answer: dict) -> None:
        self.forwarded += 1
        try:
            kind = _envelope.decode(request.body).type
        except msgspec.DecodeError:
            kind = "?"
        said = answer["status_code"] if answer["status_code"] is not None else answer.get("error")
        self.options.out(f"{datetime.now().strftime('%H:%M:%S')}  {kind}  {request.headers.get('webhook-id')}"
                         f"  --> {said}  [{answer['latency_ms']} ms]")

    async def _send_answers(self) -> None:
        """Answers in batches: whatever has come while the last POST was out. One the
        sandbox cannot take now (it is restarting) is sent again until its request expires:
        an answer that arrives in time is recorded as the attempt's, not retried."""
        while True:
            batch = [await self.answers.get()]
            while len(batch) < MOST_ACKS and not self.answers.empty():
                batch.append(self.answers.get_nowait())
            expires_s = max(expires_at_ms for _, expires_at_ms in batch) / 1000
            acks = [answer for answer, _ in batch]
            for attempt in itertools.count():
                try:
                    response = await self.api.post(self.acks_path, json={"acks": acks})
                    if response.status_code == 200:
                        break
                    if response.status_code < 500 or time.time() >= expires_s:
                        self.options.err(f"the sandbox refused {len(batch)} answers: {response.status_code} "
                                         f"{response.text[:200]}")
                        break
                    why = f"{response.status_code}"
                except httpx.HTTPError as exc:
                    why = type(exc).__name__
                wait = RECONNECT_S[min(attempt, len(RECONNECT_S) - 1)]
                if time.time() + wait >= expires_s:
                    # Not answered, those attempts time out and are retried: at least once holds.
                    self.options.err(f"could not send {len(batch)} answers ({why}); the sandbox retries those "
                                     "deliveries")
                    break
                await asyncio.sleep(wait)


async def listen(options: Options, print_secret: bool = False) -> int:
    async with api_client(options.url, options.key) as api:
        opened = await open_endpoint(api, options.name, options.events)
        if print_secret:
            options.out(opened["secret"])
            return 0
        await Listener(options, api, opened).run()  # it says "Ready!" once its stream is open
    return 0
