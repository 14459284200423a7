from __future__ import annotations

from collections.abc import AsyncIterator
from importlib.metadata import version
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.params import PathParameter, QueryParameter
from litestar.response import ServerSentEvent, Stream

from sandbox.auth import held
from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.core.timestamps import parse_timestamp
from sandbox.core.types import RFC3339
from sandbox.health import going_away
from sandbox.requests import har, service, tail
from sandbox.requests.schemas import LoggedRequest, LoggedRequestPage

HAR_MOST = 1_000  # entries a page of the HAR holds at most (and service.PAGE_BYTES of them)
HAR_MEDIA = JSON = "application/json"
Cursor = Annotated[str | None, QueryParameter(
    max_length=200, description="Where the page before ended: its `next_cursor` (the HAR's `_nextCursor`)")]

Key = Annotated[str | None, QueryParameter(max_length=255, description="Only requests with this idempotency key")]
StatusClass = Annotated[str | None, QueryParameter(pattern=r"^[1-5](xx|[0-9]{2})$", description=(
    "Only this status (`404`) or class of status (`4xx`)"))]
Outcome = Annotated[Literal["first", "replayed", "conflict", "in_flight"] | None, QueryParameter(
    description="Only requests whose idempotency key had this outcome")]
Method = Annotated[Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] | None,
                   QueryParameter(description="Only this method")]
Path = Annotated[str | None, QueryParameter(max_length=500,
                                            description="Only paths starting with this (`/api/v1/payouts`)")]
Status = Annotated[int | None, QueryParameter(ge=100, le=599, description="Only this status")]
Since = Annotated[str | None, QueryParameter(pattern=RFC3339, format="date-time", max_length=40,
                                             description="Only requests at or after this time (the merchant's clock)")]
ObjectId = Annotated[str | None, QueryParameter(max_length=64, description="Only requests that created or acted on"
                                                                           " this object (`po_…`)")]


def _filters(idempotency_key, method, path, status, since, object_id) -> service.Filters:
    return service.Filters(idempotency_key=idempotency_key, method=method, path=path, status=status,
                           since=parse_timestamp("since", since), object_id=object_id)


def _streamed(pieces: AsyncIterator[bytes], headers: dict[str, str] | None = None) -> Response[Any]:
    """A page made already (bounded: service.bounded), sent piece by piece. Typed as the
    route's answer, which the spec shows."""
    return cast("Response[Any]", Stream(pieces, headers=headers, media_type=JSON))


class RequestLogController(Controller):
    path = "/sandbox"
    tags = ["Sandbox tools"]
    opt = MERCHANT_ONLY

    @get("/requests", operation_id="listRequests", summary="The merchant's API requests, newest first")
    async def list(self, request: Request, idempotency_key: Key = None, method: Method = None, path: Path = None,
                   status: Status = None, since: Since = None, object_id: ObjectId = None,
                   limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
                   cursor: Cursor = None) -> Response[LoggedRequestPage]:
        """Every authenticated request of the merchant, kept 24 hours (at most its last
        10,000): its idempotency key and outcome, the fault it got, the objects it
        created or acted on, both bodies (cut at 64 KB; the API key is never kept).
        A page holds at most `limit` entries and 8 MiB of them (bodies full of characters
        JSON must escape make few entries fill it): `has_more` says when there are more."""
        pieces = await service.encoded_page(request.user.merchant_id,
                                            _filters(idempotency_key, method, path, status, since, object_id),
                                            limit=limit, cursor=cursor)
        return _streamed(pieces)

    @get("/requests.har", operation_id="exportRequestsHar", summary="The request log as HAR 1.2", media_type=HAR_MEDIA)
    async def har(self, request: Request, idempotency_key: Key = None, method: Method = None, path: Path = None,
                  status: Status = None, since: Since = None, object_id: ObjectId = None,
                  limit: Annotated[int, QueryParameter(ge=1, le=HAR_MOST, description="At most this many entries")]
                  = HAR_MOST, cursor: Cursor = None) -> Response[har.Har]:
        """The same filters as the list, for browser dev tools, Insomnia or har-to-k6; the
        sandbox's own facts are in `_idempotencyKey`, `_fault`, ... A page holds the newest
        matching entries, oldest first, at most `limit` (1,000) and 8 MiB of them; when more
        match, `log._hasMore` is true and the older ones are at `?cursor=` `log._nextCursor`
        (the `Link` header's `rel="next"` URL). It holds no secret, so it can be attached to a
        bug report: no `X-API-KEY` header, and every secret the sandbox knows for the merchant
        (its API key, its webhook signing secrets, the admin key), raw or escaped, in a body,
        header, query string or idempotency key, kept as its prefix and `[redacted]`
        (`"secret": "whsec_[redacted]"`)."""
        base = str(request.base_url).rstrip("/")
        found = await service.bounded(request.user.merchant_id,
                                      _filters(idempotency_key, method, path, status, since, object_id),
                                      limit=limit, cursor=cursor, make=lambda row: har.encoded(row, base), size=len)
        headers = {"Content-Disposition": 'attachment; filename="requests.har"'}
        if found.next_cursor is not None:
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
            headers["Link"] = f'<{request.url.path}?{urlencode([*query, ("cursor", found.next_cursor)])}>; rel="next"'
        oldest_first = reversed(found.rows)  # as a recording reads (the pages go back in time)
        return _streamed(service.spliced(har.empty(version("mypay-sandbox"), found.has_more, found.next_cursor),
                                         b"entries", oldest_first), headers)

    @get("/requests/stream", operation_id="streamRequests", media_type="text/event-stream",
         summary="The merchant's API requests as they are answered (server-sent events)")
    async def stream(self, request: Request, method: Method = None, path: Path = None, status: StatusClass = None,
                     idempotency_outcome: Outcome = None,
                     after: Annotated[int | None, QueryParameter(ge=0, description=(
                         "Resume after this entry (an event's `id`; `Last-Event-ID` does the same)"))] = None,
                     ) -> ServerSentEvent:
        """What `sandbox logs tail` shows. From now on (or after `after` / `Last-Event-ID`),
        one `event: request` per matching request once its entry is written (within about
        a quarter of a second of its answer), its `data` the entry as `GET
        /sandbox/requests/{id}` answers it (the same redaction), its `id` the entry's place
        in the log. `sandbox listen`'s own answers (`/webhook-listeners/{id}/acks`) are
        left out. A `: alive` comment every few seconds."""
        resume = after
        if resume is None and (last := request.headers.get("last-event-id", "").strip()).isdigit():
            resume = int(last)
        low, high = tail.status_range(status)
        filters = tail.Filters(method=method, path=path, status_low=low, status_high=high,
                               idempotency_outcome=idempotency_outcome)
        return ServerSentEvent(going_away.ending(tail.events(request.user.merchant_id, filters, resume),
                                                 held.REQUEST_LOG_STREAM, request.user))

    @get("/requests/{request_id:str}", operation_id="getRequest", summary="One logged request")
    async def retrieve(self, request: Request,
                       request_id: Annotated[str, PathParameter(max_length=128)]) -> LoggedRequest:
        return await service.one(request.user.merchant_id, request_id)
