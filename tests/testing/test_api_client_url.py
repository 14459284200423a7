"""The integrator tools (the pytest plugin's MYPAY_SANDBOX_URL, `sandbox trigger --url`,
`sandbox coverage --url`) take the sandbox's root URL; given the API's URL as `sandbox up`
prints it (`…/api/v1`), they must still call `/api/v1/...`, not `/api/v1/api/v1/...`
(every request answered 404)."""

from __future__ import annotations

import ssl

import pytest

from sandbox.client.blocking import api_client, tls


@pytest.mark.parametrize("given", ["http://127.0.0.1:8000", "http://127.0.0.1:8000/",
                                   "http://127.0.0.1:8000/api/v1", "http://127.0.0.1:8000/api/v1/"])
def test_the_root_or_the_api_url_both_reach_the_api(given):
    with api_client(given, "sk_test_x") as client:
        assert str(client.build_request("GET", "/balance").url) == "http://127.0.0.1:8000/api/v1/balance"


def test_every_client_shares_one_tls_context_that_verifies():
    """httpx reads the whole CA bundle for each new client unless given a context: 25-50 ms
    a client, which the plugin pays for every test's merchant and `sandbox mcp` for every
    tool call. One context serves them all, and it still checks the server's certificate."""
    from sandbox.client import answers

    with api_client("http://127.0.0.1:8000", "sk_test_x") as one, api_client("http://127.0.0.1:8000", "k") as two:
        contexts = {id(one._transport._pool._ssl_context), id(two._transport._pool._ssl_context)}  # type: ignore[attr-defined]
    agent = answers.client("http://127.0.0.1:8000", "sk_test_x")
    contexts.add(id(agent._transport._pool._ssl_context))  # type: ignore[attr-defined]
    assert contexts == {id(tls())}
    assert tls().verify_mode == ssl.CERT_REQUIRED and tls().check_hostname
    assert tls().cert_store_stats()["x509_ca"] > 0
