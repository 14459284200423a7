"""Secrets never reach the request log (nor the HAR and the dashboard's pages, which read
it): the API key header is left out (entry.py), and every secret a body carries is
replaced by its prefix and `[redacted]`, wherever it stands: a webhook endpoint's signing
secret (`whsec_…`) or private key (`whsk_…`) as created or rotated, an API key
(`sk_test_…`, `sk_admin_…`) as a merchant is made or a form signs in. Found by their
shape, not by route or field name, so a route added tomorrow that hands out a secret is
covered too. The marker keeps a JSON body valid JSON (it stays inside the string) and
shows the reader that something was there.

Public keys (`whpk_…`) are kept: they are not secret, and a reader needs them to check a
logged delivery's signature."""

from __future__ import annotations

import re

from sandbox.auth.keys import ADMIN_KEY_PREFIX, MERCHANT_KEY_PREFIX
from sandbox.webhooks.signatures import PRIVATE_PREFIX, SECRET_PREFIX

MARKER = b"[redacted]"
_PREFIXES = tuple(p.encode() for p in (MERCHANT_KEY_PREFIX, ADMIN_KEY_PREFIX, SECRET_PREFIX, PRIVATE_PREFIX))
# The prefix, then the key's characters (urlsafe or standard base64; `\/` is JSON's escaped slash).
_SECRET = re.compile(rb"\b(" + b"|".join(map(re.escape, _PREFIXES)) + rb")(?:[A-Za-z0-9_\-+=]|\\?/)+")


def redact(body: bytes | None) -> bytes | None:
    # Substring tests first: most bodies hold no secret, and four of them cost a fraction of
    # the regex's scan (every request's entry passes here).
    if body is None or not any(prefix in body for prefix in _PREFIXES):
        return body
    return _SECRET.sub(rb"\1" + MARKER, body)
