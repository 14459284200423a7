"""The integrator tools (the pytest plugin's MYPAY_SANDBOX_URL, `sandbox trigger --url`,
`sandbox coverage --url`) take the sandbox's root URL; given the API's URL as `sandbox up`
prints it (`…/api/v1`), they must still call `/api/v1/...`, not `/api/v1/api/v1/...`
(every request answered 404)."""

from __future__ import annotations

import pytest

from sandbox.testing.client import api_client


@pytest.mark.parametrize("given", ["http://127.0.0.1:8000", "http://127.0.0.1:8000/",
                                   "http://127.0.0.1:8000/api/v1", "http://127.0.0.1:8000/api/v1/"])
def test_the_root_or_the_api_url_both_reach_the_api(given):
    with api_client(given, "sk_test_x") as client:
        assert str(client.build_request("GET", "/balance").url) == "http://127.0.0.1:8000/api/v1/balance"
