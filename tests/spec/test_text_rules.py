"""Free text (description, account title, metadata values) refuses control characters
of both ranges and bidirectional overrides, and a refused value is explained in words,
never with the regular expression behind it."""

from __future__ import annotations

import pytest

from tests.helpers import bank, payout_body

HIDDEN = {"NEL U+0085": "a\u0085b", "CSI U+009B": "a\u009b31mb", "RLO U+202E": "\u202eevil",
          "LRI U+2066": "a\u2066b", "line separator U+2028": "a\u2028b", "newline": "a\nb"}


@pytest.mark.parametrize("value", HIDDEN.values(), ids=HIDDEN.keys())
@pytest.mark.parametrize("where", ["description", "account_title", "metadata"])
async def test_control_and_bidi_characters_are_refused(merchant, where, value):
    body = payout_body()
    if where == "description":
        body["description"] = value
    elif where == "metadata":
        body["metadata"] = {"note": value}
    else:
        body["destination"] = {**bank(), "account_title": value}
    r = await merchant.post("/payouts", body)
    assert r.status_code == 400, r.text
    (error,) = r.json()["errors"]
    assert error["message"].startswith("must be printable text"), error
    assert (await merchant.get("/payouts")).json()["data"] == []


async def test_urdu_text_is_accepted(merchant):
    salary = "\u062a\u0646\u062e\u0648\u0627\u06c1 \u062c\u0648\u0646"
    r = await merchant.post("/payouts", payout_body(description=salary))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("amount", ["1500.001", "-5", "1e3", "1.00\n"])
async def test_a_refused_amount_is_explained_in_words(merchant, amount):
    r = await merchant.post("/payouts", payout_body(amount=amount))
    assert r.status_code == 400, r.text
    problem = r.json()
    message = problem["errors"][0]["message"]
    assert "like 1500.00" in message, message
    assert "regex" not in problem["detail"] and "^" not in problem["detail"], problem


async def test_messages_for_lengths_and_types_are_words(merchant):
    r = await merchant.post("/payouts", payout_body(description="x" * 501, metadata={"k": 5}))
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["message"] in ("must have at most 500 characters", "must be a string, not an integer")
