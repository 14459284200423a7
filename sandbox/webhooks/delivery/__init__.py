"""Getting an event to a merchant's endpoint: the outbox relay (`relay`), the worker's
bounded pool of attempts (`pool`) and its slots per merchant and origin (`slots`), one
attempt and what follows it (`attempts`), the request on the wire (`sender`, through the
HTTP client SANDBOX_WEBHOOK_CLIENT picks: `clients`, `httpx_client`, `aiohttp_client`;
`wire`) and the sweeper that picks up what was lost (`sweeper`). It may import `store` and `model`;
nothing in the HTTP face or the audit is imported here."""
