"""The HAR export validates against HAR 1.2's required structure (the spec's objects and
their required fields, written below as a JSON Schema)."""

from __future__ import annotations

import secrets

import httpx
import jsonschema
import pytest

from tests.helpers import payout_body

NAME_VALUE = {"type": "object", "required": ["name", "value"],
              "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}
HAR_1_2 = {
    "type": "object", "required": ["log"],
    "properties": {"log": {
        "type": "object", "required": ["version", "creator", "entries"],
        "properties": {
            "version": {"const": "1.2"},
            "creator": {"type": "object", "required": ["name", "version"],
                        "properties": {"name": {"type": "string"}, "version": {"type": "string"}}},
            "entries": {"type": "array", "items": {
                "type": "object", "required": ["startedDateTime", "time", "request", "response", "cache", "timings"],
                "properties": {
                    "startedDateTime": {"type": "string", "format": "date-time",
                                        "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"},
                    "time": {"type": "number", "minimum": 0},
                    "request": {
                        "type": "object",
                        "required": ["method", "url", "httpVersion", "cookies", "headers", "queryString",
                                     "headersSize", "bodySize"],
                        "properties": {
                            "method": {"type": "string"}, "url": {"type": "string", "pattern": "^https?://"},
                            "httpVersion": {"type": "string"},
                            "cookies": {"type": "array"}, "headers": {"type": "array", "items": NAME_VALUE},
                            "queryString": {"type": "array", "items": NAME_VALUE},
                            "headersSize": {"type": "integer"}, "bodySize": {"type": "integer"},
                            "postData": {"type": "object", "required": ["mimeType"],
                                         "properties": {"mimeType": {"type": "string"}, "text": {"type": "string"}}},
                        }},
                    "response": {
                        "type": "object",
                        "required": ["status", "statusText", "httpVersion", "cookies", "headers", "content",
                                     "redirectURL", "headersSize", "bodySize"],
                        "properties": {
                            "status": {"type": "integer"}, "statusText": {"type": "string"},
                            "httpVersion": {"type": "string"}, "cookies": {"type": "array"},
                            "headers": {"type": "array", "items": NAME_VALUE},
                            "content": {"type": "object", "required": ["size", "mimeType"],
                                        "properties": {"size": {"type": "integer"}, "mimeType": {"type": "string"},
                                                       "text": {"type": "string"}}},
                            "redirectURL": {"type": "string"},
                            "headersSize": {"type": "integer"}, "bodySize": {"type": "integer"},
                        }},
                    "cache": {"type": "object"},
                    "timings": {"type": "object", "required": ["send", "wait", "receive"],
                                "properties": {k: {"type": "number", "minimum": -1}
                                               for k in ("send", "wait", "receive")}},
                },
                # The format leaves custom fields to applications, named with a leading underscore.
                "propertyNames": {"anyOf": [{"enum": ["pageref", "startedDateTime", "time", "request", "response",
                                                      "cache", "timings", "serverIPAddress", "connection",
                                                      "comment"]},
                                            {"pattern": "^_"}]},
            }},
        }}},
}


async def test_har_export_validates_and_carries_the_sandbox_facts(merchant):
    key = secrets.token_hex(8)
    with pytest.raises(httpx.TransportError):
        await merchant.post("/payouts", payout_body(), idem=key, headers={"X-Sandbox-Fault": "response_lost"})
    await merchant.post("/payouts", payout_body(), idem=key)
    await merchant.get("/payouts", params={"status": "pending"})
    r = await merchant.get("/sandbox/requests.har")
    assert r.status_code == 200 and "requests.har" in r.headers["content-disposition"]
    har = r.json()
    jsonschema.validate(har, HAR_1_2, format_checker=jsonschema.FormatChecker())
    entries = har["log"]["entries"]
    assert [(e["request"]["method"], e["_idempotencyOutcome"], e["_fault"]) for e in entries] == [
        ("POST", "first", "response_lost"), ("POST", "replayed", None), ("GET", None, None)]
    assert entries[2]["request"]["queryString"] == [{"name": "status", "value": "pending"}]
    assert entries[0]["request"]["postData"]["mimeType"] == "application/json"
    assert entries[0]["response"]["status"] == 201 and entries[0]["_objectIds"]
    assert entries[0]["request"]["url"].startswith(str(merchant.http.base_url).removesuffix("/api/v1/"))
    # The same filters as the list.
    only = (await merchant.get("/sandbox/requests.har", params={"method": "GET",
                                                                "path": "/api/v1/payouts"})).json()
    assert [e["request"]["method"] for e in only["log"]["entries"]] == ["GET"]
