"""Public object ids: a short type prefix and 96 random bits, e.g. `po_3f9c…`."""

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"
