"""`sandbox up`'s banner is a log (a container's, a CI job's) that others read: it shows the
operator's key whole only on the start that made it. One from SANDBOX_ADMIN_KEY, or made by
an earlier start, is named by its fingerprint (`sk_admin_…` and its last four characters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.runtime import up
from sandbox.settings import Settings
from seeds.seed import SeedReport

KEY = "sk_admin_operator_secret_0123456789abcdef"
KEY_FILE = Path("/data/admin-key")


def banner(capsys: pytest.CaptureFixture[str], origin: str) -> str:
    report = SeedReport(admin_key=KEY if origin != up.SAVED else None, admin_key_created=origin == up.MADE)
    up._banner(Settings(), report, KEY, origin, KEY_FILE, ["PostgreSQL"], 1)
    return capsys.readouterr().out


def test_a_key_from_the_environment_shows_as_its_last_four(capsys):
    out = banner(capsys, up.GIVEN)
    assert KEY not in out and KEY[9:] not in out, out
    assert f"Admin key  sk_admin_…{KEY[-4:]}  (from SANDBOX_ADMIN_KEY; saved in {KEY_FILE})" in out, out


def test_a_key_an_earlier_start_made_shows_as_its_last_four(capsys):
    out = banner(capsys, up.SAVED)
    assert KEY not in out, out
    assert f"Admin key  sk_admin_…{KEY[-4:]}  (made by an earlier start; saved in {KEY_FILE})" in out, out


def test_a_key_this_start_made_is_shown_whole_once(capsys):
    out = banner(capsys, up.MADE)
    assert f"Admin key  {KEY}  (made now, shown only this once; saved in {KEY_FILE})" in out, out
