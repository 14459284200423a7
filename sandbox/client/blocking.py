"""The blocking HTTP client on the sandbox's API that the CLI, the pytest plugin and the
Testcontainers module share: one TLS context a process, a fresh idempotency key on every
mutating request, and `Refused` in one line a person reads for any other answer."""

from __future__ import annotations

import ssl
import uuid
from functools import cache

import httpx

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
OPENING_BALANCE = "1000000.00"
POLL_S = 0.05  # between two reads of a payout while waiting on its status


def _add_idempotency_key(request: httpx.Request) -> None:
    if request.method in MUTATING and not ({"x-idempotency-key", "idempotency-key"} & set(request.headers)):
        request.headers["X-Idempotency-Key"] = uuid.uuid4().hex


@cache
def tls() -> ssl.SSLContext:
    """One TLS context for every client of the process, the one httpx would make (its CA
    bundle, or SSL_CERT_FILE / SSL_CERT_DIR). httpx makes one for each new client otherwise,
    reading the whole CA bundle each time: 25-50 ms a client, most of what making a test's
    merchant cost, for a sandbox that mostly answers plain HTTP."""
    return httpx.create_ssl_context()


def api_client(base_url: str, key: str) -> httpx.Client:
    """A client on the sandbox's `/api/v1`. `base_url` is the server's root, but the API's
    own URL (`…/api/v1`, as `sandbox up` prints it) is taken too, not doubled."""
    root = base_url.rstrip("/").removesuffix("/api/v1")
    return httpx.Client(base_url=root + "/api/v1", headers={"X-API-KEY": key}, timeout=30, verify=tls(),
                        event_hooks={"request": [_add_idempotency_key]})


class Refused(AssertionError):
    """The sandbox did not answer as expected. The message is one line a person reads: the
    request, the status, and the problem's title, detail and `code` (RFC 9457), or what
    came instead of a problem (a server that is not the sandbox's API, say). An
    AssertionError, so a test using the plugin's clients fails rather than errors."""

    def __init__(self, response: httpx.Response, expected: int) -> None:
        self.response = response
        self.problem = _problem(response)
        asked = f"{response.request.method} {response.request.url.path} answered {response.status_code}"
        if self.problem is None:
            kind = response.headers.get("content-type", "").split(";")[0] or "no content type"
            message = f"{asked} with {kind}, expected {expected} with JSON: is this MyPay Sandbox's API?"
        else:
            title, detail = self.problem.get("title") or "", self.problem.get("detail") or ""
            said = title if detail in ("", title) else f"{title}: {detail}"
            message = f"{asked}: {said} (code {self.problem.get('code')})"
        super().__init__(" ".join(message.split()))  # one line, whatever the server put in it


def _problem(response: httpx.Response) -> dict | None:
    if response.headers.get("content-type", "").split(";")[0].strip() != "application/problem+json":
        return None
    try:
        problem = response.json()
    except ValueError:
        return None
    return problem if isinstance(problem, dict) else None


def expect(response: httpx.Response, status: int) -> dict:
    """The JSON body of an answer with `status`; `Refused` for any other answer, or one
    that is not JSON."""
    if response.status_code != status:
        raise Refused(response, status)
    try:
        return response.json()
    except ValueError:
        raise Refused(response, status) from None


def advance(client: httpx.Client, seconds: float | None = None, until: str | None = None) -> dict:
    """Move the manual clock of `client`'s merchant `seconds` forward, or `until="idle"`."""
    body = {"seconds": seconds} if until is None else {"until": until}
    return expect(client.post("/sandbox/clock/advance", json=body), 200)
