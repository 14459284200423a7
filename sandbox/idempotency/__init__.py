"""Idempotency keys: the claim of a (merchant, key) pair that commits with the effect, the
replay of its stored answer, the request body it fingerprints, and the cause events name."""
