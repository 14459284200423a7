"""/webhook-listeners: the HTTP face of `sandbox listen` (docs/listening.md), thin."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter
from litestar.response import ServerSentEvent

from sandbox.auth import held
from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.health import going_away
from sandbox.idempotency.claims import READ_ONLY
from sandbox.settings import get_settings
from sandbox.webhooks.endpoints import listeners
from sandbox.webhooks.listeners import answers, stream
from sandbox.webhooks.model.listener_schemas import AcksAccepted, ListenerAcks, ListenerOpen, WebhookListener

Id = Annotated[str, PathParameter(max_length=64)]
EVENT_STREAM = "text/event-stream"


class WebhookListenerController(Controller):
    path = "/webhook-listeners"
    tags = ["Webhooks"]
    opt = MERCHANT_ONLY

    @post("", operation_id="openWebhookListener", status_code=200, summary="Open a listener endpoint")
    async def open(self, request: Request, data: JSONBody[ListenerOpen]) -> WebhookListener:
        """The merchant's listener endpoint of this `name`, made on first use and found
        again after: a webhook endpoint of kind `listener` whose deliveries go down the
        stream at `stream` instead of to a URL. Its `secret` is shown every time."""
        return await listeners.open_listener(request.user.merchant_id, data)

    @get("/{endpoint_id:str}/stream", operation_id="streamWebhookListener", media_type=EVENT_STREAM,
         summary="The listener's stream of deliveries (server-sent events)")
    async def stream(self, request: Request, endpoint_id: Id) -> ServerSentEvent:
        """Server-sent events, for as long as the connection stays open: first `event: ready`
        (`{"endpoint_id", "window"}`), then an `event: delivery` per request to forward, its
        `data` a JSON `ListenerRequest` (`id`, `expires_at_ms`, `headers`, `body`) and its
        SSE `id` the request's; a `: alive` comment every few seconds. POST the body with
        the headers to your receiver, and its answer to `/acks`. Deliveries made while no
        listener was connected come first; an unanswered one is retried as any webhook
        attempt is, so a listener that reconnects needs no `Last-Event-ID`."""
        await listeners.listener_endpoint(request.user.merchant_id, endpoint_id)
        return ServerSentEvent(going_away.ending(stream.events(endpoint_id, get_settings().listen_window),
                                                 held.LISTENER_STREAM, request.user))

    @post("/{endpoint_id:str}/acks", operation_id="answerWebhookListener", status_code=200, opt={READ_ONLY: True},
          summary="Answer the stream's requests")
    async def acks(self, request: Request, endpoint_id: Id, data: JSONBody[ListenerAcks]) -> AcksAccepted:
        """What the receiver answered to each request (its status, latency and the start of
        its body), or why it did not; up to 100 in one POST. The delivery log records each
        as it records a URL endpoint's answer. Each `id` must be one this endpoint's stream
        sent: an id it did not send (another endpoint's, or made up) refuses the whole POST
        with 404, and nothing is recorded. An answer is harmless to repeat (one for a request
        nobody waits for changes nothing), so no idempotency key is needed."""
        await listeners.listener_endpoint(request.user.merchant_id, endpoint_id)
        return await answers.relay(endpoint_id, data)
