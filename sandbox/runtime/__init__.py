"""How the processes start and stop: `sandbox up` and its supervisor (`up`, `runner`, `start_gate`,
and `forking`: the API, IPN and worker forked from `up` once it has imported what they share),
embedded PostgreSQL and Redis (`embedded`), the migrated and seeded start-up template
(`template`), and serving an ASGI app with uvicorn, one process or several on one port
(`serving`, with the request-head limit `head_limit`), and a server's last steps at SIGTERM,
each with a deadline (`shutdown`, used by the API, the IPN and the worker). The worker's PostgreSQL
server processes at its niceness (`backend_nice`). It imports `sandbox.settings`,
`sandbox.db`, `core` and the little of `auth` and `observability` a start needs (the
admin key's rules, the logs' set-up); no domain imports it."""
