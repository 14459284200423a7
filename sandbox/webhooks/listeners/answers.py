"""A listener's answers to its stream's requests, passed on to the attempts waiting for
them (each on its process's channel, `listener_link.channel_of`), in one round trip.

Each answer must be for a request sent to the endpoint it is POSTed to: a request's id
carries a tag that binds it to its endpoint (`listener_link.sent_to`), which nobody can
make without the server secret. One id that was not sent there (another endpoint's, seen
on another merchant's stream, or made up) refuses the whole POST as not found, before
anything is published: no attempt is answered, none recorded, no endpoint disabled.

An answer for a request nobody waits for any more (its attempt timed out, or its process
stopped) reaches no one and changes nothing: a repeated answer is harmless, which is why
this POST needs no idempotency key."""

from __future__ import annotations

from sandbox import redis_client
from sandbox.core.errors import NotFound
from sandbox.webhooks.delivery import listener_link
from sandbox.webhooks.model.listener_schemas import AcksAccepted, ListenerAcks


async def relay(endpoint_id: str, body: ListenerAcks) -> AcksAccepted:
    for ack in body.acks:
        if not listener_link.sent_to(endpoint_id, ack.id):
            raise NotFound(f"No request {ack.id} was sent to listener endpoint {endpoint_id}")
    async with redis_client.get().pipeline(transaction=False) as pipe:
        for ack in body.acks:
            reply = listener_link.Reply(ack.status_code, ack.latency_ms, ack.body_excerpt, ack.error,
                                        ack.retry_after, ack.location)
            pipe.publish(listener_link.channel_of(ack.id), listener_link.answer_message(ack.id, reply))
        received = await pipe.execute()
    return AcksAccepted(object="listener_acks", accepted=sum(int(n) for n in received))
