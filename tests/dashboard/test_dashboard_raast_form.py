"""The dashboard's payout form pays a Raast alias: "raast:" as the destination, the
number typed (or the scenario's sample mobile number) as the alias."""

from msgspec import UNSET

from sandbox.dashboard import forms
from sandbox.payouts.model.schemas import Destination


def test_the_form_pays_a_raast_alias():
    body = forms.payout_create({"destination": "raast:", "account_number": "03001230002", "amount": "10.00",
                                "account_title": "Ali Raza"}, {})
    assert body.destination.type == "raast" and body.destination.alias == "03001230002"
    assert body.destination.account_number is UNSET and body.destination.bank_code is UNSET


def test_a_scenario_fills_a_mobile_number_as_the_alias():
    body = forms.payout_create({"destination": "raast:", "scenario": "on_hold", "amount": "10.00"},
                               {"on_hold": "0005"})
    assert body.destination.alias == "03001230005"


def test_reinitiate_to_another_alias():
    current = Destination(type="raast", alias="03001230003", bank_code="HBL", account_number="00003001230003")
    new = forms.new_destination(current, {"account_number": "03001230001"})
    assert new.type == "raast" and new.alias == "03001230001" and new.bank_code is UNSET
