"""What an endpoint and an event are, with no database: the wire shapes (`schemas`), the
event types and the patterns endpoints subscribe with (`event_types`), the faults an
endpoint may ask for (`faults`), its URL's rules (`urls`) and the SSRF policy (`ssrf`),
its signing keys and signatures (`signatures`). It imports no other part of the webhooks:
every other part may import it."""
