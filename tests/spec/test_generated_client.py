"""A client generated from the committed spec, as an integrator would make one, drives the
API: `openapi-python-client` must print no warning (a warning means a model or response
was dropped), closed sets come out as enums, and the generated code must create, read, list and cancel payouts, read the
balance summary and the ledger feed, and follow a payout to its end."""

from __future__ import annotations

import importlib
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.api.openapi_export import SPEC_PATH
from tests.helpers import wait_for

PACKAGE = "mypay_generated_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The generated package, importable. No post hooks: the generator would run ruff on
    its output, which is formatting, not correctness."""
    root = tmp_path_factory.mktemp("client")
    config = root / "config.yml"
    config.write_text("post_hooks: []\n")
    tool = Path(sys.executable).with_name("openapi-python-client")
    run = subprocess.run(
        [str(tool), "generate", "--path", str(SPEC_PATH), "--meta", "none", "--config", str(config),
         "--output-path", str(root / PACKAGE)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "warning" not in output.lower() and "unable" not in output.lower(), output
    sys.path.insert(0, str(root))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(root))


def idem() -> str:
    return "gen-" + secrets.token_hex(12)


@pytest.fixture
def client(generated, stack, merchant):
    return generated("client").AuthenticatedClient(
        base_url=stack.base_url, token=merchant.key, auth_header_name="X-API-KEY", prefix="")


async def test_generated_client_creates_reads_lists_and_cancels(generated, client):
    models = generated("models")
    create = generated("api.payouts.create_payout")
    destination = models.BankAccountDestination(
        type_=models.BankAccountDestinationType.BANK, bank_code=models.BankAccountDestinationBankCode.HBL,
        account_number="12345678900001", account_title="Ali Raza")
    body = models.PayoutCreate(amount="1500.00", destination=destination, reference="gen-" + secrets.token_hex(4))
    payout = await create.asyncio(client=client, body=body, x_idempotency_key=idem())
    assert isinstance(payout, models.Payout), payout
    assert payout.status == "pending" and payout.destination.bank_code == "HBL"
    # Closed sets arrive as the generated enums, the destination as its own shape.
    assert payout.status is models.PayoutStatus.PENDING and payout.scenario == "success"
    assert isinstance(payout.destination, models.BankAccountDestination), payout.destination

    got = await generated("api.payouts.get_payout").asyncio(payout.id, client=client)
    assert got.id == payout.id and got.amount == "1500.00"
    page = await generated("api.payouts.list_payouts").asyncio(client=client, reference=body.reference)
    assert [p.id for p in page.data] == [payout.id]

    cancelled = await generated("api.payouts.cancel_payout").asyncio(
        payout.id, client=client, body=models.PayoutCancel(reason="changed my mind"), x_idempotency_key=idem())
    assert cancelled.status == "cancelled"

    summary = await generated("api.balance.get_balance_summary").asyncio(client=client)
    assert isinstance(summary, models.BalanceSummary), summary
    assert summary.totals.released.amount == "1500.00"
    feed = await generated("api.balance.list_ledger_entries").asyncio(client=client, since_seq=0, limit=1000)
    mine = [e for e in feed.data if e.payout_id == payout.id]
    assert [e.kind for e in mine] == ["payout_created"] * 2 + ["payout_released"] * 2
    assert [e.seq for e in feed.data] == sorted(e.seq for e in feed.data)
    check = await generated("api.balance.verify_ledger").asyncio(client=client)
    assert check.ok is True


async def test_generated_client_follows_a_raast_payout_to_its_end(generated, client, worker):
    models = generated("models")
    create = generated("api.payouts.create_payout")
    get = generated("api.payouts.get_payout")
    destination = models.RaastDestination(type_=models.RaastDestinationType.RAAST, alias="03001230001")
    payout = await create.asyncio(client=client, body=models.PayoutCreate(amount="250.00", destination=destination),
                                  x_idempotency_key=idem())
    assert isinstance(payout, models.Payout), payout
    assert payout.scenario == "success" and payout.destination.alias == "03001230001"
    assert isinstance(payout.destination, models.RaastDestinationOut), payout.destination
    assert payout.destination.bank_code in models.RaastDestinationOutBankCode.__members__.values()

    async def done():
        p = await get.asyncio(payout.id, client=client)
        return p if p.status == "success" else None

    final = await wait_for(done, what="the Raast payout to succeed")
    assert [s.status for s in final.status_history] == ["pending", "processing", "success"]
