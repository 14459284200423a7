"""Reading a sandbox's answers as a CI job must: the sandbox (or whatever answers at its
URL) may be broken, slow or hostile, and a verdict read wrong is worse than none.

- One deadline for a whole command (`within`), since httpx's timeouts are per operation:
  a server sending one header byte a second never trips a read timeout.
- A cap on each body, read in chunks (`fetch`): an endless or huge body is cut off.
- Each answer decoded into the spec's type for its status (`decoded`): the documented
  success into its Struct, a refusal into `Problem`; anything else is `NotTheApi`.
- Text from the server is escaped before anyone prints it (`sandbox.verdicts.report.shown`).

`Refused` is the API saying no in its documented way; `NotTheApi` is everything that is
not an answer the API documents. The commands turn each into one line and an exit status."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import httpx
import msgspec

from sandbox.client.blocking import tls
from sandbox.core.errors import PROBLEM_JSON, Problem
from sandbox.verdicts.report import shown

T = TypeVar("T")
# Far above any answer these commands read (a verdict, a clock's transitions, a new
# merchant), far below what would hurt a CI machine.
BODY_CAP = 4 * 1024 * 1024


class Refused(Exception):
    """The API answered a documented refusal (an RFC 9457 problem)."""

    def __init__(self, asked: str, status: int, problem: Problem, who: str = "") -> None:
        """`who`: whose request it was, when a command sends several (`the key sk_test_…abcd`)."""
        self.asked, self.status, self.problem = asked, status, problem
        said = problem.title if problem.detail in ("", problem.title) else f"{problem.title}: {problem.detail}"
        super().__init__(shown(f"{who + ' was refused: ' if who else ''}{asked} answered {status}: {said} "
                               f"(code {problem.code})"))


class NotTheApi(Exception):
    """An answer the API does not document, no answer in time, or a body too large."""


class Unreachable(Exception):
    """No connection, or the connection broke before an answer."""


class NotConnected(Unreachable):
    """No connection was made: the request was never sent (a mutating one did nothing)."""


async def within(seconds: float, work: Awaitable[T], url: str) -> T:
    """`work`, or NotTheApi once `seconds` have passed, however the server trickles."""
    try:
        async with asyncio.timeout(seconds):
            return await work
    except TimeoutError:
        raise NotTheApi(f"no complete answer from {shown(url)} within {seconds:g} s (--timeout)") from None


def client(url: str, key: str) -> httpx.AsyncClient:
    """A client on the sandbox's `/api/v1` (the server's root or its API URL both work).
    Its own timeouts are the deadline's business (`within`)."""
    root = url.rstrip("/").removesuffix("/api/v1")
    return httpx.AsyncClient(base_url=root + "/api/v1", headers={"X-API-KEY": key}, timeout=None,
                             follow_redirects=False, verify=tls())


class Answer(msgspec.Struct):
    asked: str  # "POST /api/v1/sandbox/gate", for the messages
    status: int
    media: str  # the content type without its parameters
    body: bytes
    headers: dict[str, str]


async def fetch(http: httpx.AsyncClient, method: str, path: str, *, json: Any = None,
                headers: dict[str, str] | None = None, cap: int = BODY_CAP) -> Answer:
    """The answer, its body read in chunks up to `cap` bytes (NotTheApi beyond)."""
    asked = f"{method} {http.base_url.path.rstrip('/')}{path}"
    try:
        async with http.stream(method, path, json=json, headers=headers) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise NotTheApi(f"{asked} answered a body of {int(declared)} bytes, more than the {cap} an answer "
                                "of the API has: is this MyPay Sandbox's API?")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > cap:
                    raise NotTheApi(f"{asked} answered more than {cap} bytes, more than an answer of the API "
                                    "has: is this MyPay Sandbox's API?")
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            return Answer(asked, response.status_code, media, bytes(body), dict(response.headers))
    except httpx.DecodingError as exc:
        raise NotTheApi(f"{asked} answered a body that cannot be decoded ({shown(str(exc))})") from None
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise NotConnected(f"{asked}: {shown(str(exc)) or type(exc).__name__}") from None
    except (httpx.TransportError, httpx.InvalidURL) as exc:
        raise Unreachable(f"{asked}: {shown(str(exc)) or type(exc).__name__}") from None


def read(response: httpx.Response) -> Answer:
    """A synchronous client's answer (the pytest plugin's, on its own sandbox), read."""
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return Answer(f"{response.request.method} {response.request.url.path}", response.status_code, media,
                  response.read(), dict(response.headers))


def decoded(answer: Answer, status: int, into: type[T]) -> T:
    """The body of an answer with `status` as `into`; Refused for a problem the API
    answered; NotTheApi for anything else."""
    if answer.status == status:
        if answer.media != "application/json":
            raise NotTheApi(f"{answer.asked} answered {status} with {shown(answer.media) or 'no content type'}, "
                            "not JSON: is this MyPay Sandbox's API?")
        try:
            return msgspec.json.decode(answer.body, type=into)
        except msgspec.DecodeError as exc:  # ValidationError included: JSON of the wrong shape
            raise NotTheApi(f"{answer.asked} answered {status} with a body that is not the API's "
                            f"{into.__name__} ({shown(str(exc))}): is this MyPay Sandbox's API?") from None
    raise refusal(answer, status)


def refusal(answer: Answer, expected: int) -> Exception:
    """Refused when the answer is a problem the API could send, else NotTheApi."""
    if answer.media == PROBLEM_JSON and 400 <= answer.status <= 599:
        try:
            return Refused(answer.asked, answer.status, msgspec.json.decode(answer.body, type=Problem))
        except msgspec.DecodeError:
            pass
    media = shown(answer.media) or "no content type"
    return NotTheApi(f"{answer.asked} answered {answer.status} with {media}, expected {expected}: "
                     "is this MyPay Sandbox's API?")

