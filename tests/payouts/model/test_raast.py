"""Raast destinations: a mobile-number alias the directory resolves to a bank account,
the same one every time; the alias' last four digits choose the scenario."""

from __future__ import annotations

import pytest

from tests.helpers import payout_body

RAAST = {"type": "raast", "alias": "03001230003"}


async def test_a_raast_payout_resolves_its_alias_and_follows_its_suffix(merchant):
    r = await merchant.post("/payouts", payout_body(destination=RAAST))
    assert r.status_code == 201, r.text
    payout = r.json()
    dest = payout["destination"]
    assert dest["type"] == "raast" and dest["alias"] == "03001230003"
    assert dest["account_number"].endswith("0003") and dest["bank_code"]
    assert payout["scenario"] == "failed_account_closed"
    again = (await merchant.post("/payouts", payout_body(destination=RAAST))).json()["destination"]
    assert again == dest  # deterministic resolution


async def test_verify_account_resolves_a_raast_alias(merchant):
    closed = (await merchant.post("/verify-account", RAAST)).json()
    assert closed == {"valid": False, "account_title": None, "reason": "account_closed"}
    first = (await merchant.post("/verify-account", {"type": "raast", "alias": "03001230001"})).json()
    second = (await merchant.post("/verify-account", {"type": "raast", "alias": "03001230001"})).json()
    assert first["valid"] is True and first["account_title"] and first == second


@pytest.mark.parametrize("dest, field", [
    ({"type": "raast"}, "destination.alias"),
    ({"type": "raast", "alias": "0300123000"}, "destination.alias"),
    ({"type": "raast", "alias": "03001230001", "bank_code": "HBL"}, "destination.bank_code"),
    ({"type": "raast", "alias": "03001230001", "iban": None}, "destination.iban"),
    ({"type": "bank", "bank_code": "HBL", "account_number": "12345678900001", "alias": "03001230001"},
     "destination.alias"),
])
async def test_malformed_raast_destinations_are_refused(merchant, dest, field):
    r = await merchant.post("/payouts", payout_body(destination=dest))
    assert r.status_code == 400, r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.text
    assert (await merchant.get("/payouts")).json()["data"] == []


async def test_the_directory_shows_raast(merchant):
    book = (await merchant.get("/directory")).json()
    assert book["raast"]["alias_format"] == "03XXXXXXXXX"
