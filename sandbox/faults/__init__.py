"""API fault rules: a merchant asks for its next requests to fail the way networks and
proxies fail (before the request does anything, or after its effect is committed), to
prove its client retries safely. The request log (sandbox/requests/) records which fault
each request got, and its verdict says what the client did next."""
