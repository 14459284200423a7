"""The API remembers keys that authenticated (sandbox/auth/cache.py); what a client
must never see is a change the cache hides: a revoked key that still works, a rate
limit that stays old, a key served from memory while nobody listens for changes."""

from sandbox import db
from sandbox.auth.cache import CACHE, LISTENER_NAME
from sandbox.auth.keys import hash_key
from tests.helpers import wait_for

LISTENING = dict(timeout=10, what="the auth cache to listen for key changes")


async def _listening() -> bool:
    return CACHE.listening


async def test_a_key_that_authenticated_is_remembered(merchant):
    await wait_for(_listening, **LISTENING)
    assert (await merchant.get("/balance")).status_code == 200
    assert CACHE.get(hash_key(merchant.key)).merchant_id == merchant.merchant_id


async def test_a_wrong_or_revoked_key_is_never_remembered(merchant, anonymous):
    await wait_for(_listening, **LISTENING)
    wrong = merchant.key[:-4] + "zzzz"
    assert (await anonymous.http.get("/balance", headers={"X-API-KEY": wrong})).status_code == 401
    assert CACHE.get(hash_key(wrong)) is None
    await db.execute("UPDATE api_key SET revoked_at = now() WHERE merchant = $1", merchant.merchant_id)
    await wait_for(lambda: _status(merchant, 401), timeout=2, what="the revoked key to be refused")
    assert CACHE.get(hash_key(merchant.key)) is None


async def test_a_rate_limit_changed_in_the_database_applies_on_the_next_requests(merchant):
    await wait_for(_listening, **LISTENING)
    assert (await merchant.get("/balance")).headers["RateLimit-Limit"] != "7"
    # Another process (or an operator) changes the merchant: the notification reaches this one.
    await db.execute("UPDATE merchant SET rate_limit_per_minute = 7 WHERE id = $1", merchant.merchant_id)

    async def new_limit() -> bool:
        return (await merchant.get("/balance")).headers["RateLimit-Limit"] == "7"

    await wait_for(new_limit, timeout=2, what="the new rate limit")


async def test_while_nobody_listens_every_request_asks_the_database(merchant):
    await wait_for(_listening, **LISTENING)
    assert (await merchant.get("/balance")).status_code == 200
    # The listening connection dies (as when PostgreSQL restarts): the cache is off at once...
    terminated = await db.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", LISTENER_NAME)
    assert terminated >= 1
    await wait_for(lambda: _not(_listening), timeout=5, what="the cache to notice it lost its listener")
    assert CACHE.get(hash_key(merchant.key)) is None
    # ...so a change nobody heard about still applies to the very next request.
    await db.execute("UPDATE api_key SET revoked_at = now() WHERE merchant = $1", merchant.merchant_id)
    if not CACHE.listening:  # it may be back already; then the notification was heard
        r = await merchant.get("/balance")
        assert r.status_code == 401
    # It listens again by itself, starting from nothing remembered.
    await wait_for(_listening, **LISTENING)
    await wait_for(lambda: _status(merchant, 401), timeout=2, what="the revoked key to stay refused")


async def _status(api, status: int) -> bool:
    return (await api.get("/balance")).status_code == status


async def _not(predicate) -> bool:
    return not await predicate()


async def test_a_signing_key_changed_by_another_process_reaches_the_cached_key(merchant):
    # The cached key carries the merchant's webhook signing keys, which the request log
    # redacts by value: a rotation made through another API process must reach this one.
    await wait_for(_listening, **LISTENING)
    made = (await merchant.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"})).json()

    async def cached_now():
        # A change anywhere (another test's leftovers too) makes every process forget: ask
        # again until a request has put the key back.
        assert (await merchant.get("/balance")).status_code == 200
        return CACHE.get(hash_key(merchant.key))

    cached = await wait_for(cached_now, timeout=5, what="the key in the cache")
    assert made["secret"] in cached.secrets and made["secret"] not in repr(cached)
    await db.execute("UPDATE webhook_endpoint SET signing_key = 'whsec_rotated_elsewhere_0123456789' WHERE id = $1",
                     made["id"])

    async def knows_the_new_key() -> bool:
        assert (await merchant.get("/balance")).status_code == 200
        now = CACHE.get(hash_key(merchant.key))
        return now is not None and "whsec_rotated_elsewhere_0123456789" in now.secrets

    await wait_for(knows_the_new_key, timeout=2, what="the new signing key in the cached key")
