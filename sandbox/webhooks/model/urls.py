"""Checking an endpoint URL when it is registered or changed, and parsing it once for the
attempts that call it."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import TYPE_CHECKING

from sandbox.core.errors import ApiError, FieldError, ValidationFailed
from sandbox.guards import addresses as ssrf

if TYPE_CHECKING:
    import httpx

RESOLVE_TIMEOUT_S = 5.0

# http(s), a host name (its last label starts with a letter) or an IPv4 address, a port,
# a path of printable ASCII; no credentials, no fragment. Documented in the OpenAPI schema,
# so whatever matches it is a URL we accept (unless the SSRF policy refuses its address).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_PORT = r"(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
URL_PATTERN = (rf"^https?://(?:(?:{_LABEL}\.)*{_TOP_LABEL}|{_OCTET}(?:\.{_OCTET}){{3}}){_PORT}"
               r'(?:/[!"$-~]*)?$')  # printable ASCII but "#"; no escape: JavaScript's u flag refuses \"


@lru_cache(maxsize=4096)
def parsed(url: str) -> httpx.URL:
    """An endpoint's URL, parsed once per URL (httpx.URL is immutable): httpx's parse is
    about 60 µs of the worker's CPU, and every attempt needs the URL's origin and target."""
    import httpx  # here: the API imports this module at start and parses a URL only on a request

    return httpx.URL(url)


class TargetRefused(ApiError):
    """A URL well formed but aimed inside the network, on a sandbox that refuses that."""

    status, code, title = 422, "webhook_target_refused", "The webhook target is inside the network"


async def check(raw: str, policy: ssrf.Policy) -> str:
    """The URL as given, if it is one we will call under `policy`; a 400
    `validation_error` for a URL that is not one, a 422 `webhook_target_refused` for one
    aimed inside the network while the policy refuses that."""
    import httpx

    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError):
        raise ValidationFailed.field("url", "is not a valid URL") from None
    if url.scheme not in ("http", "https"):
        raise ValidationFailed.field("url", "must be an http:// or https:// URL")
    if not url.host:
        raise ValidationFailed.field("url", "must name a host")
    if url.userinfo:
        raise ValidationFailed.field("url", "must not contain credentials; verify signatures instead")
    if url.fragment:
        raise ValidationFailed.field("url", "must not have a #fragment")
    if policy.on:
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                await ssrf.permitted_addresses(policy, url.host, port)
        except ssrf.Refused as exc:
            raise TargetRefused(f"{raw} is refused: {exc}. {ssrf.REMEDY[0].upper()}{ssrf.REMEDY[1:]}.",
                                errors=[FieldError(field="url", message=str(exc))]) from None
        except ssrf.Unresolved as exc:
            raise ValidationFailed.field("url", str(exc)) from None
        except TimeoutError:
            raise ValidationFailed.field("url", f"{url.host} did not resolve in time") from None
    return raw


# A listener endpoint's `url` (`sandbox listen`): it names no host and is never dialled;
# its requests go down the listener's stream (sandbox/webhooks/delivery/listener_link.py).
LISTENER_SCHEME = "listener://"


def listener_url(endpoint_id: str) -> str:
    return LISTENER_SCHEME + endpoint_id


def listener_of(url: str) -> str | None:
    """The endpoint id a listener URL names; None for an http(s) URL."""
    return url[len(LISTENER_SCHEME):] if url.startswith(LISTENER_SCHEME) else None
