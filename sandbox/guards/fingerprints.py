"""How a secret is named wherever it is not handed to the person who asked for it: its
known prefix, an ellipsis and its last four characters (`sk_admin_…3f9a`), as a PSP's
dashboard shows a key. Enough to tell two keys apart in a log or a guide, nothing to use."""

from __future__ import annotations

# Standard Webhooks' prefixes of a signing secret and of an Ed25519 private key (its public
# key, `whpk_`, is no secret): the webhooks' signatures make them, the idempotency store seals them.
WEBHOOK_SECRET_PREFIX, WEBHOOK_PRIVATE_PREFIX = "whsec_", "whsk_"
# The prefixes the sandbox's secrets carry (API keys, webhook signing secrets and private
# keys, the rail and session secrets it makes), longest first so `sk_admin_` wins over `sk_`.
KNOWN_PREFIXES = ("sk_admin_", "sk_test_", WEBHOOK_SECRET_PREFIX, WEBHOOK_PRIVATE_PREFIX, "rail_", "sess_")
SHOWN = 4  # characters of the end that are shown
SHORTEST_SHOWN = 16  # a secret shorter than this shows no character of its own


def fingerprint(secret: str) -> str:
    """`sk_admin_…3f9a`; a secret of another shape: `…3f9a`; a short one: `…`."""
    prefix = next((p for p in KNOWN_PREFIXES if secret.startswith(p)), "")
    rest = secret[len(prefix):]
    return f"{prefix}…{rest[-SHOWN:] if len(secret) >= SHORTEST_SHOWN else ''}"
