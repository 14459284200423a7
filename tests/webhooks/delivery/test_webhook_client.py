"""The worker makes each webhook request itself (`HttpxClient.build_webhook_request`)
rather than through httpx's `build_request`, to skip a URL parse and a header merge on
every send. It must make the same request: same method, URL, headers in the same
order, body and timeouts, so the bytes on the wire do not change."""

from __future__ import annotations

import asyncio
import string

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


@settings(max_examples=150, deadline=None)
@given(url=urls, headers=st.dictionaries(header_names, header_values, max_size=5), content=st.binary(max_size=300))
def test_a_webhook_request_is_the_request_build_request_makes(url, headers, content) -> None:
    client = httpx_client.build(get_settings())
    try:
        ours = client.build_webhook_request(url, content, headers)
        theirs = client.build_request("POST", url, content=content, headers=headers)
        assert ours.method == theirs.method == "POST"
        assert ours.url == theirs.url
        assert ours.headers.raw == theirs.headers.raw
        assert ours.read() == theirs.read() == content
        assert ours.extensions == theirs.extensions
    finally:
        asyncio.run(client.aclose())
