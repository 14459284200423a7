"""The committed spec is what the app serves; every route is documented properly."""

import json

from sandbox.openapi_export import SPEC_PATH, render


def test_committed_spec_matches_the_app():
    assert SPEC_PATH.exists(), "run `uv run sandbox openapi` and commit openapi/openapi.json"
    assert SPEC_PATH.read_text() == render(), "the API changed: run `uv run sandbox openapi` and commit the result"


def test_every_operation_is_documented():
    spec = json.loads(render())
    assert spec["components"]["securitySchemes"]["apiKey"] == {"type": "apiKey", "name": "X-API-KEY", "in": "header"}
    seen = set()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert op.get("operationId"), f"{method} {path} has no operationId"
            assert op["operationId"] not in seen
            seen.add(op["operationId"])
            public = path in ("/api/v1/health", "/api/v1/ready")
            if not public:
                assert op.get("security") == [{"apiKey": []}], f"{method} {path} lacks the apiKey scheme"
                assert "401" in op["responses"], f"{method} {path} does not document 401"
            if method != "get":
                names = [p["name"] for p in op.get("parameters", [])]
                assert "X-Idempotency-Key" in names, f"{method} {path} does not document the idempotency key"
                assert "400" in op["responses"] and "409" in op["responses"] and "422" in op["responses"]
