"""Directory, account verification, scenarios, sandbox merchants, health."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from sandbox import version
from tests.helpers import bank

REPO = Path(__file__).resolve().parents[2]


async def test_directory(merchant):
    d = (await merchant.get("/directory")).json()
    codes = {b["iban_code"] for b in d["banks"]}
    assert len(d["banks"]) >= 14
    assert {"HABB", "UNIL", "MUCB", "ABPA", "ALFH", "MEZN", "SCBL", "NBPA"} <= codes
    assert {w["code"] for w in d["wallets"]} == {"EASYPAISA", "JAZZCASH", "SADAPAY", "NAYAPAY"}


async def test_verify_account(merchant):
    r = await merchant.post("/verify-account", bank("12345678900001"))
    assert r.status_code == 200
    ok = r.json()
    assert ok["valid"] is True and ok["account_title"] and ok["reason"] is None
    assert (await merchant.post("/verify-account", bank("12345678900001"))).json() == ok  # deterministic
    closed = (await merchant.post("/verify-account", bank("12345678900003"))).json()
    assert closed == {"valid": False, "account_title": None, "reason": "account_closed"}
    wallet = await merchant.post("/verify-account", {"type": "wallet", "wallet_code": "JAZZCASH",
                                                     "account_number": "03001234567"})
    assert wallet.json()["valid"] is True
    bad = await merchant.post("/verify-account", {"type": "bank", "bank_code": "HBL", "account_number": "12"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "body.account_number"


async def test_scenarios(merchant):
    table = (await merchant.get("/sandbox/scenarios")).json()
    suffixes = {s["suffix"]: s["name"] for s in table["scenarios"]}
    assert {"0001", "0002", "0003", "0004", "0005"} <= set(suffixes)
    assert table["review"]["min_amount"] == "100000.00"
    assert table["default"] == "success"


async def test_sandbox_merchant_is_isolated_and_funded(admin, stack):
    r = await admin.post("/sandbox/merchants", {"name": "CI run 42", "opening_balance": "500000.00"})
    assert r.status_code == 201
    body = r.json()
    assert body["merchant"]["name"] == "CI run 42" and body["api_key"].startswith("sk_test_")
    from tests.helpers import Api
    api = Api(stack.base_url, body["api_key"])
    try:
        b = (await api.get("/balance")).json()
        assert b["available"] == "500000.00"
    finally:
        await api.aclose()


async def test_health_and_ready(anonymous):
    # The version is the installed package's, as `sandbox --version` says it.
    assert (await anonymous.get("/health")).json() == {"status": "ok", "version": version.of()}
    assert version.of() == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    ready = await anonymous.get("/ready")
    body = ready.json()
    parts = ("api", "postgres", "redis", "ipn")
    assert {k: body[k] for k in parts} == dict.fromkeys(parts, "ok"), body
    assert body["ipn_url"] == os.environ["SANDBOX_IPN_URL"]
    # 200 only with every part serving: this stack runs a worker only inside some tests.
    if body["worker"] == "ok":
        assert (ready.status_code, body["status"]) == (200, "ok"), body
    else:
        assert body["worker"].startswith("down: no worker reported"), body
        assert (ready.status_code, body["status"]) == (503, "unavailable"), body
    assert ready.headers["x-request-id"]


def test_sandbox_version_says_the_installed_package_version():
    said = subprocess.run([sys.executable, "-m", "sandbox.cli", "--version"], capture_output=True, text=True,
                          timeout=60, check=True).stdout.strip()
    assert said == f"sandbox {tomllib.loads((REPO / 'pyproject.toml').read_text())['project']['version']}"


async def test_request_id_is_echoed(anonymous):
    r = await anonymous.get("/health", headers={"X-Request-ID": "trace-123"})
    assert r.headers["x-request-id"] == "trace-123"
    r = await anonymous.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"].startswith("req_")


async def test_verify_account_is_a_read_and_needs_no_idempotency_key(merchant):
    """It changes nothing, so it asks for no key; its body is still checked as every POST's."""
    plain = await merchant.http.post("/verify-account", json=bank("12345678900003"))
    assert plain.status_code == 200, plain.text
    assert plain.json() == {"valid": False, "account_title": None, "reason": "account_closed"}
    assert "Idempotent-Replayed" not in plain.headers
    # A key sent anyway is not stored: the same key with another body is simply another check.
    first = await merchant.post("/verify-account", bank("12345678900001"), idem="same-key")
    again = await merchant.post("/verify-account", bank("12345678900003"), idem="same-key")
    assert first.status_code == again.status_code == 200 and again.json()["reason"] == "account_closed"
    malformed = await merchant.http.post("/verify-account", content=b'{"type": "bank",',
                                         headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed_json"
    as_text = await merchant.http.post("/verify-account", content=b"{}", headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 415
