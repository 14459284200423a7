"""Audits are recorded and listed latest first with cursor paging; the JUnit answer
reads as JUnit (junitparser, and the elements and counts CI systems look for)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from junitparser import Failure, JUnitXml

from tests.webhooks.audit_helpers import ALL_CASES, FORGERIES, audit, register
from tests.webhooks.audit_receivers import Verifying, trusting
from tests.webhooks.receiver import Receiver


async def test_audits_are_listed_latest_first(merchant):
    receiver = await Receiver(responder=trusting).start()
    try:
        endpoint = await register(merchant, receiver)
        first = await audit(merchant, endpoint)
        receiver.responder = Verifying(endpoint)
        second = await audit(merchant, endpoint)
    finally:
        await receiver.stop()
    path = f"/webhook-endpoints/{endpoint['id']}/audits"
    page = (await merchant.get(path, params={"limit": 1})).json()
    assert [a["id"] for a in page["data"]] == [second["id"]] and page["has_more"]
    rest = (await merchant.get(path, params={"limit": 1, "cursor": page["next_cursor"]})).json()
    assert [a["id"] for a in rest["data"]] == [first["id"]] and not rest["has_more"]
    assert rest["data"][0] == first  # as it answered
    one = await merchant.get(f"{path}/{second['id']}")
    assert one.status_code == 200 and one.json() == second and second["passed"] and not first["passed"]
    assert (await merchant.get(f"{path}/wha_nope")).status_code == 404


def _junit_counts(xml: bytes) -> tuple[int, int, list[str], list[str]]:
    """Read with the standard library, as a CI system does: the testsuite's counts, its
    testcases' names and the names of those with a <failure>."""
    root = ET.fromstring(xml)
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    cases = suite.findall("testcase")
    assert all(c.get("classname") and c.get("time") is not None for c in cases)
    return (int(suite.get("tests")), int(suite.get("failures")), [c.get("name") for c in cases],
            [c.get("name") for c in cases if c.find("failure") is not None])


async def test_junit_answer_reads_as_junit(merchant):
    receiver = await Receiver(responder=trusting).start()
    try:
        endpoint = await register(merchant, receiver)
        r = await merchant.post(f"/webhook-endpoints/{endpoint['id']}/audit", params={"format": "junit"})
    finally:
        await receiver.stop()
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    tests, failures, names, failed = _junit_counts(r.content)
    assert (tests, failures, names, set(failed)) == (len(ALL_CASES), len(FORGERIES), ALL_CASES, FORGERIES)

    document = JUnitXml.fromstring(r.content)
    (suite,) = list(document)
    assert (suite.tests, suite.failures, suite.errors) == (len(ALL_CASES), len(FORGERIES), 0)
    by_name = {case.name: case for case in suite}
    (failure,) = by_name["wrong_secret"].result
    assert isinstance(failure, Failure) and failure.message == "expected 4xx, got HTTP 204"
    assert "forged payout.success" in failure.text
    assert by_name["valid_event"].is_passed and "signed" in by_name["valid_event"].system_out

    # The recorded audit answers the same document.
    audit_id = {p.name: p.value for p in suite.properties()}["audit_id"]
    again = await merchant.get(f"/webhook-endpoints/{endpoint['id']}/audits/{audit_id}", params={"format": "junit"})
    assert again.status_code == 200 and again.content == r.content


async def test_format_is_checked(merchant):
    receiver = await Receiver().start()
    try:
        endpoint = await register(merchant, receiver)
        r = await merchant.post(f"/webhook-endpoints/{endpoint['id']}/audit", params={"format": "xml"})
    finally:
        await receiver.stop()
    assert r.status_code == 400 and r.json()["code"] == "validation_error", r.text
    assert receiver.received == []
