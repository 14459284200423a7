"""The sandbox as a Pact provider: provider states a verifier asks for before each
interaction (states.py), webhooks answered as Pact messages (messages.py), the two
routes they are served on (controllers.py), and `sandbox pact verify` (verify.py), which
runs pact-python's verifier against a running sandbox with both URLs filled in."""
