"""Volume: a 500-row batch from `sandbox make-batch`'s generator through the API and
the worker; the 100,000-row run is opt-in (it takes minutes on 2 cores, far more than
CI's budget for one test) and is what `python -m sandbox.bench.standalone.batch` measures."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import db
from sandbox.batches import sample
from sandbox.ledger.service import check_invariant
from tests.batches.helpers import completed_events, items, upload_csv, wait_completed
from tests.helpers import wait_for

REPO = Path(__file__).resolve().parents[2]


ROWS = 500


async def test_500_rows(merchant, worker, database, tmp_path):
    path = tmp_path / "b.csv"
    per_scenario = sample.write(path, ROWS)
    assert len(per_scenario) >= 6 and sum(per_scenario.values()) == ROWS
    r = await upload_csv(merchant, path.read_bytes())
    assert r.status_code == 202, r.text
    done = await wait_completed(merchant, r.json()["id"], timeout=120)
    assert done["status"] == "completed" and done["total_items"] == ROWS
    assert sum(done["counts"].values()) == ROWS and done["counts"]["invalid"] == done["counts"]["refused"] == 0
    page = await items(merchant, done["id"], status="invalid")
    assert page == []
    assert len(await completed_events(merchant.merchant_id)) == 1
    assert await check_invariant(merchant.merchant_id) == []

    async def all_at_rest():  # leave no step jobs behind for the tests after this one
        return await db.fetchval("SELECT count(*) FROM payout WHERE merchant = $1 AND next_action_at IS NOT NULL",
                                 merchant.merchant_id) == 0

    await wait_for(all_at_rest, timeout=120, interval=0.2, what="every payout to reach the end of its scenario")
    assert await check_invariant(merchant.merchant_id) == []


@pytest.mark.skipif(not os.environ.get("SANDBOX_BIG_BATCH"), reason="minutes long: set SANDBOX_BIG_BATCH=1")
def test_100000_rows_through_processes():
    out = subprocess.run([sys.executable, "-m", "sandbox.bench.standalone.batch", "--rows", "100000"], cwd=REPO,
                         capture_output=True, text=True, timeout=3600, check=True).stdout
    result = eval(out.strip().splitlines()[-1])  # the bench prints a dict literal
    assert result["status"] == "completed" and result["ledger_invariant"] == "holds"
    assert sum(result["counts"].values()) == 100_000
