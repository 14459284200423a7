"""The pure rules of webhook delivery, without servers: signatures against the
standardwebhooks package, the retry schedule, Retry-After, event patterns, the address
policy and the fault draws."""

import base64
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from sandbox.guards import addresses as ssrf
from sandbox.webhooks.delivery import attempts
from sandbox.webhooks.model import event_types, signatures
from sandbox.webhooks.model import faults as F

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@given(body=st.binary(max_size=2000).map(lambda b: b.decode("latin-1").encode()), stamp=st.integers(0, 2**33))
def test_hmac_signature_is_what_standardwebhooks_computes(body, stamp):
    key = signatures.generate(signatures.HMAC)
    ours = signatures.signature_header([key.signing_key], "evt_1", stamp, body)
    theirs = Webhook(key.signing_key).sign("evt_1", datetime.fromtimestamp(stamp, tz=UTC), body.decode())
    assert ours == theirs


def test_ed25519_signature_verifies_with_the_public_key():
    key = signatures.generate(signatures.ED25519)
    assert key.signing_key.startswith("whsk_") and key.public_key.startswith("whpk_") and key.shown_secret is None
    header = signatures.signature_header([key.signing_key], "evt_1", 1_700_000_000, b'{"a":1}')
    version, signature = header.split(",", 1)
    assert version == "v1a"
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key.removeprefix("whpk_")))
    public.verify(base64.b64decode(signature), b'evt_1.1700000000.{"a":1}')


def test_secrets_are_random_and_long_enough():
    a, b = signatures.generate(signatures.HMAC), signatures.generate(signatures.HMAC)
    assert a.shown_secret == a.signing_key and a.signing_key != b.signing_key
    assert len(signatures.decode(a.signing_key)) == 32  # the spec asks for 24 to 64 bytes


def test_several_keys_sign_space_separated():
    old, new = signatures.generate(signatures.HMAC), signatures.generate(signatures.HMAC)
    header = signatures.signature_header([new.signing_key, old.signing_key], "evt_1", 1, b"{}")
    assert len(header.split(" ")) == 2
    for key in (old, new):
        assert Webhook(key.signing_key).sign("evt_1", datetime.fromtimestamp(1, tz=UTC), "{}") in header.split(" ")


def test_retry_schedule_and_its_end(monkeypatch):
    assert attempts.SCHEDULE_S == (0, 5, 300, 1800, 7200, 18000, 36000, 36000) and attempts.MAX_ATTEMPTS == 8
    for attempt, seconds in enumerate(attempts.SCHEDULE_S[1:], start=1):
        wait = (attempts.next_attempt_at(attempt, AT, None, scale=1.0) - AT).total_seconds()
        assert seconds * 0.9 <= wait <= seconds * 1.1
        half = (attempts.next_attempt_at(attempt, AT, None, scale=0.5) - AT).total_seconds()
        assert seconds * 0.45 <= half <= seconds * 0.55
    assert attempts.next_attempt_at(8, AT, None, scale=1.0) is None
    assert attempts.next_attempt_at(1, AT, timedelta(seconds=60), scale=1.0) >= AT + timedelta(seconds=60)
    # At time scale 0 every retry still waits the floor (SANDBOX_WEBHOOK_RETRY_FLOOR_S, 1 s).
    assert attempts.next_attempt_at(7, AT, None, scale=0.0) == AT + timedelta(seconds=1)
    # ...and the setting's, read at each retry (the suite's `quick_retries`, tests/webhooks/conftest.py).
    monkeypatch.setenv("SANDBOX_WEBHOOK_RETRY_FLOOR_S", "0.05")
    assert attempts.next_attempt_at(7, AT, None, scale=0.0) == AT + timedelta(seconds=0.05)


@pytest.mark.parametrize("value, seconds", [
    ("120", 120), ("0", 0), ("-5", 0), (" 7 ", 7), ("999999", 36000),
    ("Mon, 23 Nov 2026 12:01:00 GMT", 60), ("Mon, 23 Nov 2026 11:00:00 GMT", 0),
    ("soon", None), ("", None), (None, None),
])
def test_retry_after(value, seconds):
    got = attempts.retry_after(value, AT)
    assert (got.total_seconds() if got is not None else None) == seconds


@pytest.mark.parametrize("pattern, event_type, hit", [
    ("*", "payout.success", True), ("payout.*", "payout.success", True), ("payout.success", "payout.success", True),
    ("payout.failed", "payout.success", False), ("payout.*", "payouts.x", False), ("pay*", "payout.success", False),
])
def test_patterns(pattern, event_type, hit):
    assert event_types.matches(pattern, event_type) is hit


def test_patterns_on_offer_and_like():
    assert event_types.PATTERNS[:4] == ("*", "payout.*", "batch.*", "settlement.*")
    assert {"payout.on_hold", "batch.completed", "settlement.completed"} <= set(event_types.PATTERNS)
    assert all(any(event_types.matches(p, t) for t in event_types.EVENT_TYPES) for p in event_types.PATTERNS)
    assert event_types.like("payout.*") == "payout.%" and event_types.like("payout.on_hold") == "payout.on\\_hold"
    assert "payout.created" in event_types.EVENT_TYPES and "payout.returned" in event_types.EVENT_TYPES


@pytest.mark.parametrize("address, blocked", [
    ("127.0.0.1", True), ("10.0.0.1", True), ("172.31.255.255", True), ("192.168.0.1", True),
    ("169.254.169.254", True), ("100.64.0.1", True), ("100.127.255.254", True), ("0.0.0.0", True),
    ("224.0.0.1", True), ("::1", True), ("fe80::1", True), ("fd00:ec2::254", True), ("::ffff:10.0.0.1", True),
    ("::", True), ("fc00::1", True), ("198.18.0.1", True),
    # IPv4 addresses carried in IPv6: 6to4, NAT64, IPv4-compatible, Teredo (the client's)
    ("2002:7f00:1::", True), ("64:ff9b::a9fe:a9fe", True), ("::7f00:1", True),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", True),
    ("8.8.8.8", False), ("93.184.215.14", False), ("2606:4700:4700::1111", False), ("::ffff:8.8.8.8", False),
    ("2002:808:808::", False), ("64:ff9b::808:808", False),
])
def test_address_policy(address, blocked):
    assert (ssrf.inside(ipaddress.ip_address(address)) is not None) is blocked


@pytest.mark.parametrize("address, words", [
    ("169.254.169.254", "the cloud metadata address (169.254.169.254/32)"),
    ("fd00:ec2::254", "the cloud metadata address (fd00:ec2::254/128)"),
    ("127.0.0.1", "a loopback address (127.0.0.0/8)"),
    ("172.20.1.1", "a private address (RFC 1918) (172.16.0.0/12)"),
    ("100.64.0.1", "a carrier-grade NAT address (RFC 6598) (100.64.0.0/10)"),
    ("fd12::1", "a unique-local address (RFC 4193) (fc00::/7)"),
    ("::ffff:169.254.169.254", "the cloud metadata address (169.254.169.254/32), carried in ::ffff:169.254.169.254"),
])
def test_a_refusal_names_the_range(address, words):
    assert ssrf.inside(ipaddress.ip_address(address)) == words


def test_the_allow_list_names_hosts_and_ranges():
    allow = ssrf.allow_list(" Staging.Internal., 10.20.0.0/16 ,fd00:1::/32,192.168.5.5")
    policy = ssrf.Policy(True, "on", allow)
    loopback = ipaddress.ip_address("127.0.0.1")
    assert policy.refusal("staging.internal", loopback) is None  # the name, whatever it resolves to
    assert policy.refusal("other.internal", loopback) == (
        "other.internal resolves to 127.0.0.1, a loopback address (127.0.0.0/8): webhook targets inside the "
        "network are refused (on)")
    assert policy.refusal("10.20.3.4", ipaddress.ip_address("10.20.3.4")) is None
    assert policy.refusal("10.21.0.1", ipaddress.ip_address("10.21.0.1")) is not None
    assert policy.refusal("fd00:1::5", ipaddress.ip_address("fd00:1::5")) is None
    assert policy.refusal("x", ipaddress.ip_address("192.168.5.5")) is None
    assert ssrf.Policy(False, "off").refusal("x", loopback) is None
    for bad in ("http://x", "a..b", "10.0.0.0/33"):
        with pytest.raises(ssrf.AllowError, match="SANDBOX_WEBHOOK_ALLOW"):
            ssrf.allow_list(bad)


def test_fault_draws_are_deterministic_and_near_their_rates():
    faults = F.Faults(seed=42, duplicate_rate=0.3, wrong_signature_rate=0.1, stale_timestamp_rate=0.5)
    first = [F.for_attempt(faults, seq, 1) for seq in range(1, 2001)]
    assert first == [F.for_attempt(faults, seq, 1) for seq in range(1, 2001)]
    for name, rate in ((F.DUPLICATE, 0.3), (F.WRONG_SIGNATURE, 0.1), (F.STALE_TIMESTAMP, 0.5)):
        share = sum(name in f for f in first) / len(first)
        assert abs(share - rate) < 0.04, name
    other_seed = [F.for_attempt(F.Faults(seed=43, duplicate_rate=0.3), seq, 1) for seq in range(1, 2001)]
    assert [F.DUPLICATE in f for f in other_seed] != [F.DUPLICATE in f for f in first]
    assert F.for_attempt(F.Faults(fail_first_attempts=2), 1, 2) == {F.FAIL_FIRST}
    assert F.for_attempt(F.Faults(fail_first_attempts=2), 1, 3) == frozenset()
    assert F.for_attempt(F.NONE, 1, 1) == frozenset()


def test_holds_stay_within_delay_plus_window():
    faults = F.Faults(seed=1, delay_ms=100, reorder_window_ms=1000)
    holds = [F.hold(faults, seq) for seq in range(1, 500)]
    assert all(timedelta(milliseconds=100) <= h < timedelta(milliseconds=1100) for h in holds)
    assert len(set(holds)) > 350  # 499 draws over 1000 whole milliseconds: about 393 distinct
    assert F.hold(F.NONE, 1) == timedelta(0)
