"""The worker's one pooled HTTP client for webhooks: a timeout, no redirects followed,
no proxies from the environment, and the SSRF policy applied at connect time."""

from __future__ import annotations

import httpcore
import httpx

from sandbox.settings import Settings
from sandbox.webhooks.ssrf import GuardedBackend

USER_AGENT = "MyPay-Sandbox-Webhooks/1.0"


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over an httpcore pool that dials through `GuardedBackend`
    (httpx builds its pool without a way to pass a network backend, so it is rebuilt
    here with the same options)."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits, retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=GuardedBackend(),
        )


def build(settings: Settings) -> httpx.AsyncClient:
    concurrency = max(1, settings.webhook_concurrency)
    # Idle connections cost the pool work on every request: let them go soon.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=5)
    timeout = httpx.Timeout(settings.webhook_timeout_s, connect=min(5.0, settings.webhook_timeout_s))
    return httpx.AsyncClient(
        transport=GuardedTransport(limits),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )
