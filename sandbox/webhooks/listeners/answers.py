"""A listener's answers to its stream's requests, passed on to the attempts waiting for
them (each on its process's channel, `listener_link.channel_of`), in one round trip.

An answer for a request nobody waits for any more (its attempt timed out, or its process
stopped) reaches no one and changes nothing: a repeated answer is harmless, which is why
this POST needs no idempotency key. A request's id is a random 128-bit process id and a
count, sent only down its endpoint's stream."""

from __future__ import annotations

from sandbox import redis_client
from sandbox.webhooks.delivery import listener_link
from sandbox.webhooks.model.listener_schemas import AcksAccepted, ListenerAcks


async def relay(body: ListenerAcks) -> AcksAccepted:
    async with redis_client.get().pipeline(transaction=False) as pipe:
        for ack in body.acks:
            reply = listener_link.Reply(ack.status_code, ack.latency_ms, ack.body_excerpt, ack.error,
                                        ack.retry_after, ack.location)
            pipe.publish(listener_link.channel_of(ack.id), listener_link.answer_message(ack.id, reply))
        received = await pipe.execute()
    return AcksAccepted(object="listener_acks", accepted=sum(int(n) for n in received))
