"""Faulty webhook receivers, made from a reference that verifies Standard Webhooks, by
operators over its verification step: skip it under a condition (on the count of
signatures, their order, the timestamp, the event type, the body's size, the header's case,
the n-th request), compare a prefix, accept the other scheme's signature without a key,
accept an expired timestamp or a replay, answer 2xx before verifying.

Two references, one per signing scheme (`scheme`): for an HMAC endpoint, the library's own
`Webhook.verify` (`v1`); for an Ed25519 one, `v1a` verified with `cryptography`'s Ed25519
public key as the spec describes it (tests/webhooks/verify.py, which the audit's own tests
use: the Python library checks `v1` only). An Ed25519 receiver holds a public key, not the
signature it expects, so the prefix operators become one over what it is given: it verifies
the first 64 bytes of the signature and ignores the rest.

Operators derived from what the audit models: a skip for every event type an endpoint can
subscribe to (`EVENT_TYPES`), and for each signing key state of a rotation (`ROTATION`:
the current key, the old one in its grace period, the retired one after it).

Each mutant is a predicate `accepts(got, n)`: whether the receiver answers 2xx to the n-th
request (from 1) it got. A mutant the audit cannot tell from the reference (no request of
the battery makes them answer differently) says why in `equivalent`; the lane checks that
the audit passes those exactly as it passes the reference, so a reason that stops being
true fails the lane too."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks import Webhook, WebhookVerificationError

from sandbox.webhooks.audit.audit_cases import OK
from sandbox.webhooks.model.event_types import EVENT_TYPES
from tests.webhooks.receiver import Received
from tests.webhooks.verify import ed25519_key, ed25519_verifies, signed_content, verify_ed25519

TOLERANCE_S = 5 * 60  # the library's


@dataclass(frozen=True)
class Mutant:
    name: str
    operator: str
    accepts: Callable[[Callable[[Received], bool], Received, int], bool]  # (reference, got, n)
    equivalent: str | None = None  # why the audit cannot tell it from the reference


@dataclass(frozen=True)
class Scheme:
    signing: str  # the endpoint's: hmac-sha256 or ed25519
    version: str  # its signatures' version: v1 or v1a
    other: str  # the other scheme's version
    reference: Callable[[Received], bool]
    signature_ok: Callable[[str, Received], bool]  # one signature of `version` (its base64 part) over the request


def scheme(signing: str, key: str) -> Scheme:
    """The reference receiver of an endpoint signing with `signing`, whose key (the secret,
    or the public key) is `key`."""
    if signing == "hmac-sha256":
        webhook = Webhook(key)

        def hmac_reference(got: Received) -> bool:
            try:
                webhook.verify(got.body, got.headers)
            except (WebhookVerificationError, ValueError, binascii.Error):
                return False
            return True
        return Scheme(signing, "v1", "v1a", hmac_reference,
                      lambda given, got: hmac.compare_digest(given, _expected(key, got)))
    public = ed25519_key(key)

    def ed25519_reference(got: Received) -> bool:
        try:
            verify_ed25519(key, got)
        except (WebhookVerificationError, KeyError, ValueError):
            return False
        return True
    return Scheme(signing, "v1a", "v1", ed25519_reference,
                  lambda given, got: ed25519_verifies(public, signed_content(got), given))


def _signatures(got: Received) -> list[tuple[str, str]]:
    said = got.headers.get("webhook-signature", "")
    return [(v, s) for v, _, s in (x.partition(",") for x in said.split(" ") if x)]


def _expected(secret: str, got: Received) -> str:
    at = int(got.headers["webhook-timestamp"])
    return Webhook(secret).sign(got.headers["webhook-id"], datetime.fromtimestamp(at, UTC), got.body.decode()) \
        .split(",")[1]


def _fresh(got: Received, tolerance: int = TOLERANCE_S) -> bool:
    try:
        return abs(time.time() - int(got.headers["webhook-timestamp"])) <= tolerance
    except (KeyError, ValueError):
        return False


def _at(got: Received) -> int | None:
    try:
        return int(got.headers["webhook-timestamp"])
    except (KeyError, ValueError):
        return None


def _type(got: Received) -> str:
    try:
        return str(json.loads(got.body).get("type"))
    except ValueError:
        return ""


def mutants(endpoint: Scheme, key: str, cases: list[tuple[str, str]]) -> list[Mutant]:
    """The faulty receivers made from `endpoint`'s reference (`key`: its secret or public key);
    `cases`: the battery the audit sends this endpoint, in order (name, expected)."""
    own, other = endpoint.version, endpoint.other

    def compare(pick: Callable[[list[tuple[str, str]]], list[tuple[str, str]]],
                check: Callable[[str, Received], bool] = endpoint.signature_ok, tolerance: int = TOLERANCE_S,
                schemes: tuple[str, ...] = ()) -> Callable[[Callable, Received, int], bool]:
        """A hand-written verification: the signatures `pick` chooses, each of the endpoint's
        version checked by `check`, under `tolerance`; one of a version in `schemes` is taken
        without its key."""
        def accepts(_ref, got: Received, _n: int) -> bool:
            if not {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(got.headers):
                return False
            if not _fresh(got, tolerance):
                return False
            for version, given in pick(_signatures(got)):
                if version in schemes:
                    return True
                try:
                    if version == own and check(given, got):
                        return True
                except (ValueError, KeyError):
                    continue
            return False
        return accepts

    def skip_when(condition: Callable[[Received, int], bool]) -> Callable[[Callable, Received, int], bool]:
        return lambda ref, got, n: condition(got, n) or ref(got)

    if endpoint.signing == "hmac-sha256":
        prefixes = [
            Mutant("prefix_of_8_characters", "prefix compare", compare(
                lambda sigs: sigs, lambda given, got: given[:8] == _expected(key, got)[:8])),
            Mutant("expected_starts_with_given", "prefix compare", compare(
                lambda sigs: sigs, lambda given, got: _expected(key, got).startswith(given))),
        ]
    else:
        prefixes = [
            Mutant("verifies_the_first_64_bytes_given", "prefix compare", compare(
                lambda sigs: sigs, lambda given, got: endpoint.signature_ok(
                    base64.b64encode(base64.b64decode(given)[:64]).decode(), got)),
                "it accepts a valid signature with bytes appended, and only that: a forger who can append to a "
                "valid signature already holds one for that request, so no case (nor any forgery) tells it"),
        ]
    forged_at = [n for n, (_, expected) in enumerate(cases, 1) if expected != OK]
    made = [
        Mutant("skip_when_two_or_more_signatures", "count", skip_when(lambda g, n: len(_signatures(g)) >= 2)),
        Mutant("skip_when_three_or_more_signatures", "count", skip_when(lambda g, n: len(_signatures(g)) >= 3)),
        Mutant("skip_when_one_signature", "count", skip_when(lambda g, n: len(_signatures(g)) == 1)),
        Mutant("skip_when_no_signature", "count", skip_when(lambda g, n: not _signatures(g))),
        Mutant("first_signature_only", "order", compare(lambda sigs: sigs[:1])),
        Mutant("last_signature_only", "order", compare(lambda sigs: sigs[-1:])),
        Mutant("first_and_last_only", "order", compare(lambda sigs: [*sigs[:1], *sigs[-1:]])),
        Mutant(f"skip_when_first_is_not_{own}", "order", skip_when(lambda g, n: bool(_signatures(g))
                                                                  and _signatures(g)[0][0] != own)),
        Mutant("skip_when_timestamp_ahead", "timestamp", skip_when(
            lambda g, n: (_at(g) or 0) > time.time())),
        Mutant("skip_when_timestamp_old", "timestamp", skip_when(
            lambda g, n: (_at(g) or time.time()) < time.time() - TOLERANCE_S)),
        Mutant("skip_when_timestamp_over_a_day_old", "timestamp", skip_when(
            lambda g, n: (_at(g) or time.time()) < time.time() - 86400)),
        Mutant("skip_when_timestamp_over_a_day_ahead", "timestamp", skip_when(
            lambda g, n: (_at(g) or 0) > time.time() + 86400)),
        Mutant("skip_when_timestamp_over_an_hour_off", "timestamp", skip_when(
            lambda g, n: abs((_at(g) or time.time()) - time.time()) > 3600)),
        Mutant("skip_for_unknown_types", "event type", skip_when(
            lambda g, n: not _type(g).startswith(("payout.", "batch.", "settlement.")))),
        # One per event type an endpoint can subscribe to (`*`, this lane's endpoint, gets them all).
        *(Mutant(f"skip_for_{t.replace('.', '_')}", "event type", skip_when(lambda g, n, t=t: _type(g) == t))
          for t in EVENT_TYPES),
        Mutant("skip_over_16_kib", "body size", skip_when(lambda g, n: len(g.body) > 16 * 1024)),
        Mutant("skip_over_1_mib", "body size", skip_when(lambda g, n: len(g.body) > 1024 * 1024),
               "the largest body the battery sends is 64 KiB; sending a MiB to every receiver at each audit is "
               "not worth one more case"),
        Mutant("skip_when_header_capitalised", "header case", skip_when(
            lambda g, n: any(k != k.lower() for k in g.headers)),
            "the receiver's server (uvicorn, as ASGI requires, and WSGI and most frameworks alike) hands the "
            "code header names in lower case: it cannot see how the sender wrote them"),
        *prefixes,
        Mutant(f"accept_{other}_without_key", other, compare(lambda sigs: sigs, schemes=(other,))),
        Mutant("no_timestamp_tolerance", "expired", compare(lambda sigs: sigs, tolerance=10 ** 10)),
        Mutant("an_hour_of_tolerance", "expired", compare(lambda sigs: sigs, tolerance=3600)),
        Mutant("seven_minutes_of_tolerance", "expired", compare(lambda sigs: sigs, tolerance=7 * 60),
               "the stale and future cases are 10 minutes off; a tolerance between 5 and 10 minutes is not "
               "told apart (Standard Webhooks asks for 'a few minutes', not 5 to the second)"),
        Mutant("accept_a_seen_webhook_id", "replay", _seen_id()),
        Mutant("answer_before_verifying", "2xx first", lambda ref, got, n: True),
    ]
    for n in range(1, len(cases) + 3):
        forged = n in forged_at
        made.append(Mutant(f"skip_on_request_{n}", "n-th request", skip_when(lambda g, i, n=n: i == n), None if forged
                           else (f"request {n} is {cases[n - 1][0]}, genuine: skipping its verification accepts it "
                                 "as the reference does" if n <= len(cases)
                                 else f"the battery sends {len(cases)} requests; request {n} never comes")))
    return made


ROTATION = ("current", "grace", "retired")
"""The signing key states the audit models: the current key; the old one in a rotation's
grace period (it still signs); the retired one after it (it must be refused)."""


def rotation_mutants(current: Scheme, old: Scheme) -> dict[str, list[Mutant]]:
    """Receivers of a rotated endpoint, by the key state they get audited in: `current`
    (the reference itself: the new key) and `grace` (the old key kept, as a receiver not
    yet redeployed has it) must pass, as the reference; `retired`, once the grace period
    is over: a receiver keeping the old key beside the new, or the old key alone, must fail."""
    either = lambda ref, got, n: current.reference(got) or old.reference(got)  # noqa: E731
    return {
        "current": [Mutant("new_key_only", "rotation", lambda ref, got, n: current.reference(got),
                           "a receiver with the new key is right in and after the grace period")],
        "grace": [Mutant("old_key_only_in_grace", "rotation", lambda ref, got, n: old.reference(got),
                         "in the grace period both keys sign every delivery, so a receiver not yet given the new "
                         "key verifies all of them: the audit must pass it"),
                  Mutant("either_key_in_grace", "rotation", either,
                         "in the grace period either key is right")],
        "retired": [Mutant("keeps_the_retired_key", "rotation", either),
                    Mutant("old_key_only_after_grace", "rotation", lambda ref, got, n: old.reference(got))],
    }


def _seen_id() -> Callable[[Callable, Received, int], bool]:
    seen: set[str] = set()

    def accepts(ref, got: Received, n: int) -> bool:
        webhook_id = got.headers.get("webhook-id")
        if webhook_id in seen:
            return True  # taken for a retry of one verified before
        ok = ref(got)
        if ok and webhook_id:
            seen.add(webhook_id)
        return ok
    return accepts
