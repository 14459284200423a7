"""Secrets never reach the request log (nor the HAR and the dashboard's pages, which read
it). Two nets, over every field an entry keeps (its id, path and query string, the
idempotency key, the request's and the answer's headers and bodies):

1. By value: every secret the sandbox knows for the merchant is replaced wherever it
   stands: the API key the request came with, its webhook endpoints' signing keys
   (current and previous, read with the key: `Principal.secrets`) and the admin key
   (SANDBOX_ADMIN_KEY, or the one `sandbox up` saved in its data directory), whatever
   its shape. Raw, or with any of its characters escaped as JSON allows (`\\u005f`, `\\/`)
   or percent-encoded (`%5F`, as a query string carries it).
2. By shape, for a secret the sandbox handed out but no longer knows by value (a key
   rotated away, a merchant's other API key, a key the answer itself makes): the
   prefix of a webhook signing secret (`whsec_…`), private key (`whsk_…`) or an API key
   (`sk_test_…`, `sk_admin_…`), then the key's characters. So a route added tomorrow
   that hands out a secret is covered too.

A secret with a known prefix keeps its prefix and loses the rest (`whsec_[redacted]`),
any other is `[redacted]` whole: the marker keeps a JSON body valid JSON (it stays inside
the string) and shows the reader that something was there. Public keys (`whpk_…`) are
kept: they are not secret, and a reader needs them to check a logged delivery's signature.

Cost: every merchant request's entry passes here, so the common case is substring tests
(`bytes.__contains__`, a few per field). A field holding a backslash or a percent sign has
its escapes decoded once, and only a secret found in what that shows has its spellings'
regex compiled and run (see `Redactor._spelled_in`; a field of more than a thousand escapes
goes straight to the regex of all of them). Built for every new set of secrets, as it once
was, that regex took 130-270 ms to compile for a merchant with ten to twenty webhook
endpoints, on the event loop, at its first request after each change of them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache

from sandbox.auth.keys import ADMIN_KEY_PREFIX, MERCHANT_KEY_PREFIX
from sandbox.settings import ADMIN_KEY_FILE, get_settings
from sandbox.webhooks.model.signatures import PRIVATE_PREFIX, SECRET_PREFIX

MARKER = b"[redacted]"
_PREFIXES = tuple(p.encode() for p in (MERCHANT_KEY_PREFIX, ADMIN_KEY_PREFIX, SECRET_PREFIX, PRIVATE_PREFIX))
# The prefix, then the key's characters (urlsafe or standard base64; `\/` is JSON's escaped slash).
_SECRET = re.compile(rb"\b(" + b"|".join(map(re.escape, _PREFIXES)) + rb")(?:[A-Za-z0-9_\-+=]|\\?/)+")
# What every prefix starts with, for `may_hold`: a short needle is the slow one to look for.
_PREFIX_STARTS = tuple({p[:3] for p in _PREFIXES})
_SHORTEST = 10  # a secret's part after its prefix shorter than this is redacted with its prefix (and so no
# marker is longer than what it replaces)


def redact(data: bytes | None) -> bytes | None:
    """The second net: secrets found by their shape."""
    # Substring tests first: most fields hold no secret, and four of them cost a fraction of
    # the regex's scan.
    if data is None or not any(prefix in data for prefix in _PREFIXES):
        return data
    return _SECRET.sub(rb"\1" + MARKER, data)


def _hex(value: int) -> bytes:
    """Two hex digits matching either case (`5f`, `5F`)."""
    return b"".join(b"[%c%c]" % (d, d - 32) if d >= ord("a") else bytes([d]) for d in b"%02x" % value)


def _any_spelling(char: int) -> bytes:
    """A pattern for one character as it is, JSON-escaped or percent-encoded."""
    forms = [re.escape(bytes([char])), rb"\\u00" + _hex(char), rb"%" + _hex(char)]
    if char in b'"\\/':
        forms.append(re.escape(b"\\" + bytes([char])))
    return b"(?:" + b"|".join(forms) + b")"


def _spellings(values: tuple[bytes, ...]) -> bytes:
    """One pattern for every spelling of every value, its alternatives grouped by how the
    first character is spelled: the engine tries each place a match may start (every
    backslash of a body of escapes) once per group, not once per secret (measured: 22 ms
    to 1.6 ms for 72 KB of `\\u00XX` and four secrets)."""
    def rest(value: bytes) -> bytes:
        return b"".join(map(_any_spelling, value[1:]))

    by_hex = b"|".join(_hex(v[0]) + rest(v) for v in values)
    groups = [rb"\\u00(?:" + by_hex + b")", rb"%(?:" + by_hex + b")",
              *(re.escape(v[:1]) + rest(v) for v in values)]
    if escaped := [re.escape(v[:1]) + rest(v) for v in values if v[0] in b'"\\/']:
        groups.append(rb"\\(?:" + b"|".join(escaped) + b")")
    return b"|".join(groups)


def _secret_part(secret: bytes) -> bytes:
    """What to hide of a secret: the part after a known prefix (the prefix says only what
    kind of key it was), else all of it."""
    for prefix in _PREFIXES:
        if secret.startswith(prefix) and len(secret) - len(prefix) >= _SHORTEST:
            return secret[len(prefix):]
    return secret


# One escape as JSON or a URL spells a byte: `\u00XX`, `%XX`, `\"`, `\\`, `\/`.
_ESCAPE = re.compile(rb"\\u00([0-9a-fA-F]{2})|%([0-9a-fA-F]{2})|\\([\"\\\\/])")
# The most characters of a secret that an escape begun before it can take when decoded (`%4`
# then a secret `A1…`, or `\u00` then `4f…`): what is decoded from there on is the secret again.
_TAKEN = 5
# Past this many escapes in a field, `_spelled_in` (about 1.3 µs an escape) is not worth it.
_DECODED_AT_MOST = 1_000


def _decoded(match: re.Match[bytes]) -> bytes:
    return match[3] or bytes([int(match[1] or match[2], 16)])


@lru_cache(maxsize=256)
def _spelled(values: tuple[bytes, ...]) -> re.Pattern[bytes]:
    return re.compile(_spellings(values))


class Redactor:
    """Both nets for one set of secrets (built once per distinct set: `redactor`)."""

    __slots__ = ("_needles", "_values")

    def __init__(self, secrets: Iterable[str]) -> None:
        parts = {_secret_part(s.encode()) for s in secrets if s}
        # Longest first: a secret that holds another is hidden whole.
        self._values = tuple(sorted(parts, key=len, reverse=True))
        self._needles = (*self._values, *_PREFIX_STARTS)

    def may_hold(self, data: bytes) -> bool:
        """Whether `data` may hold a secret: a value, a secret's prefix, or an escape (for
        `record` to ask once of all of an entry's fields, so an entry without, nearly every
        one, costs a few substring tests)."""
        for needle in self._needles:
            if needle in data:
                return True
        return bool(self._values) and (b"\\" in data or b"%" in data)

    def __call__(self, data: bytes | None) -> bytes | None:
        if data is None:
            return None
        for value in self._values:
            if value in data:
                data = data.replace(value, MARKER)
        if self._values and (escapes := data.count(b"\\") + data.count(b"%")):
            # A body of escapes (a hostile one, say): decoding each costs more than the one
            # regex of every spelling of every secret, compiled once for the set and kept.
            spelled = self._values if escapes > _DECODED_AT_MOST else self._spelled_in(data)
            if spelled:
                data = _spelled(spelled).sub(MARKER, data)
        return redact(data)

    def _spelled_in(self, data: bytes) -> tuple[bytes, ...]:
        """The secrets `data` may spell with escapes, longest first: those found in `data`
        with its escapes decoded, but for their first `_TAKEN` characters (an escape begun
        before a secret may take them, and the decoding is back in step after it; a secret
        that short is always a candidate). A secret with a backslash or a percent sign of its
        own (an admin key may be any text) is always a candidate: its characters may begin an
        escape themselves."""
        plain = _ESCAPE.sub(_decoded, data)
        return tuple(v for v in self._values
                     if v[_TAKEN:] in plain or b"\\" in v or b"%" in v)

    def text(self, value: str) -> str:
        return (self(value.encode("utf-8", "surrogatepass")) or b"").decode("utf-8", "surrogatepass")


@cache
def admin_keys() -> tuple[str, ...]:
    """The admin keys this process can know: given (SANDBOX_ADMIN_KEY), or made by `sandbox
    up` and saved in its data directory (read once: `up` writes it before the API serves)."""
    settings = get_settings()
    keys = [settings.admin_key] if settings.admin_key else []
    try:
        saved = (settings.data_dir / ADMIN_KEY_FILE).read_text().strip()
    except OSError:
        saved = ""
    if saved and saved not in keys:
        keys.append(saved)
    return tuple(keys)


@lru_cache(maxsize=1024)
def redactor(secrets: tuple[str, ...]) -> Redactor:
    """The redactor of a request's secrets (the merchant's and the admin key): few distinct
    sets, one per key and endpoint keys, so each is compiled once."""
    return Redactor((*secrets, *admin_keys()))
