"""The pytest plugin with `--mypay-sandbox=container`: an integrator's suite (pytester, in
a subprocess) gets a sandbox in a container of its own, whose webhooks reach the suite's
receiver on this machine, and the container is gone when the session ends."""

from __future__ import annotations

import pytest

from tests.helpers import UNUSED_PLUGINS
from tests.testcontainers.conftest import container_ids

pytest_plugins = ["pytester"]

SUITE = '''
import pytest


@pytest.mark.mypay_clock("manual")
def test_a_payout_and_its_webhook(mypay_merchant, mypay_webhooks):
    payout = mypay_merchant.payout("success")
    mypay_merchant.advance(until="idle")
    event = mypay_webhooks.wait_for("payout.success", payout["id"], timeout=30)
    assert event["data"]["status"] == "success"
'''


def test_the_plugin_starts_the_image_when_asked(pytester: pytest.Pytester, engine, image):
    before = container_ids(engine)
    pytester.makepyfile(test_integration=SUITE)
    result = pytester.runpytest_subprocess(*UNUSED_PLUGINS, "--mypay-sandbox=container",
                                           "--mypay-require-coverage=success", timeout=300)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*mypay coverage gate passed*"])
    assert container_ids(engine) == before
