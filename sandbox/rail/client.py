"""The simulated bank rail. Submitting a payout gives it a `psp_reference`; outcomes that
come later reach the sandbox the way a real rail's would: a signed HTTP callback to the
IPN service — never a function call behind its back."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import msgspec

from sandbox.rail.messages import Notification
from sandbox.rail.secret import rail_secret
from sandbox.rail.signing import HEADER, sign
from sandbox.settings import get_settings

if TYPE_CHECKING:  # the worker hands in its client; the API and the IPN only name NOTIFY_JOB
    import httpx

log = logging.getLogger("sandbox.rail")

NOTIFY_JOB = "rail_notify"


class CallbackRefused(Exception):
    """The IPN service answered 4xx: the callback will not succeed by repeating it."""


async def send(http: httpx.AsyncClient, notification: Notification) -> int:
    """POST one signed callback; returns the status. Raises on network errors and 5xx
    (the caller retries), CallbackRefused on 4xx other than 409 (a 409 is a legal answer:
    the payout had moved on)."""
    body = msgspec.json.encode(notification)
    response = await http.post(
        get_settings().rail_callback_url,
        content=body,
        headers={"Content-Type": "application/json", HEADER: sign(rail_secret(), body)},
    )
    if response.status_code >= 500:
        response.raise_for_status()
    if response.status_code >= 400 and response.status_code != 409:
        raise CallbackRefused(f"IPN answered {response.status_code}: {response.text[:200]}")
    log.info("rail callback %s %s → %s", notification.notification_id, notification.status, response.status_code)
    return response.status_code
