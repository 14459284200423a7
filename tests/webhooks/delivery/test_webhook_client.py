"""The worker makes each webhook request itself (`HttpxClient.build_webhook_request`)
rather than through httpx's `build_request`, to skip a URL parse and a header merge on
every send. It must make the same request: same method, URL, headers in the same
order, body and timeouts, so the bytes on the wire do not change."""

from __future__ import annotations

import asyncio
import string
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.settings import get_settings
from sandbox.webhooks.delivery import httpx_client

segments = st.text(string.ascii_letters + string.digits + "-._~%", min_size=0, max_size=12)
urls = st.builds(
    lambda scheme, host, port, path, query: f"{scheme}://{host}{port}/{'/'.join(path)}{query}",
    st.sampled_from(["http", "https"]),
    st.sampled_from(["127.0.0.1", "receiver.example", "[::1]", "xn--bcher-kva.example"]),
    st.sampled_from(["", ":8080", ":443"]),
    st.lists(segments, max_size=3),
    st.sampled_from(["", "?a=1", "?a=1&b=two", "?q=%20x"]),
)
header_names = st.sampled_from(["content-type", "webhook-id", "webhook-timestamp", "webhook-signature",
                                "X-Custom", "Accept"])
header_values = st.text(string.ascii_letters + string.digits + " ,=/+.:-", max_size=40).map(str.strip)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx_client.HttpxClient]:
    """One client for every example: making one (its TLS contexts read the CA bundle) took
    0.14 s, 21 s of the 150 examples, and the requests it builds send nothing, so each
    example finds it as new."""
    made = httpx_client.build(get_settings())
    yield made
    asyncio.run(made.aclose())


@settings(max_examples=150, deadline=None)
@given(url=urls, headers=st.dictionaries(header_names, header_values, max_size=5), content=st.binary(max_size=300))
def test_a_webhook_request_is_the_request_build_request_makes(client, url, headers, content) -> None:
    ours = client.build_webhook_request(url, content, headers)
    theirs = client.build_request("POST", url, content=content, headers=headers)
    assert ours.method == theirs.method == "POST"
    assert ours.url == theirs.url
    assert ours.headers.raw == theirs.headers.raw
    assert ours.read() == theirs.read() == content
    assert ours.extensions == theirs.extensions
    assert not client.cookies  # nothing sent, nothing kept: the next example's client is as new
