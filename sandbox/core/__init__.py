"""The kit every package shares: stateless helpers only (errors and their problem bodies,
money, constrained types and their wording, ids, pagination, timestamps, the clock).
Nothing here keeps state, owns a table or writes SQL: packages that do live beside the
domains (auth, idempotency, observability, ratelimits)."""
