"""What each process imports to start, held: a module a process does not use at start is
not imported at start (every import is CPU that `sandbox up`, the image and the pytest
plugin wait for, three processes at once on a machine of two cores).

Each process's start is imported as it is in a fresh interpreter (`sandbox api` is
`sandbox.cli`, uvicorn, its event loop and the app), then `sys.modules` is read: none of
its budget's modules, nor anything under them, may be there. And what `sandbox up` imports
before it forks the three (sandbox/runtime/forking.py) is what all three load at start,
nothing more: the forked processes inherit it. Where something here fails, the module that
pulled the forbidden one in is named by `python -X importtime -c "import ..."`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Loaded by no process at start: the test helpers and the bench.
NEVER = ("pytest", "sandbox.testing", "sandbox.bench")
BUDGETS = {
    # The API sends no webhook (the worker does: aiohttp) and calls no one over HTTP at
    # start (httpx: the rail client in the worker, the receiver audit when one runs).
    "api": ("sandbox.cli", "uvicorn", "uvloop", "sandbox.runtime.start_gate", "sandbox.api.app",
            ("aiohttp", "httpx", "worker", "ipn", "sandbox.webhooks.delivery.aiohttp_client", *NEVER)),
    # The IPN takes the rail's callbacks: none of the API's routes, the dashboard or the worker.
    "ipn": ("sandbox.cli", "uvicorn", "uvloop", "sandbox.runtime.start_gate", "ipn.app",
            ("aiohttp", "httpx", "worker", "sandbox.api", "sandbox.dashboard", "sandbox.admin",
             "sandbox.webhooks.audit", "sandbox.simulator", *NEVER)),
    # The worker builds its webhook client (aiohttp) once it runs, not when it imports its jobs.
    "worker": ("sandbox.cli", "worker.main", "worker.jobs", "worker.webhooks", "worker.batches",
               "worker.settlements", "worker.requests", "worker.statistics", "worker.idempotency",
               "sandbox.observability.metrics", "sandbox.runtime.start_gate",  # run by its startup
               ("aiohttp", "ipn", "sandbox.api", "sandbox.dashboard", *NEVER)),
}


def loaded_by(modules: tuple[str, ...], then: str = "") -> set[str]:
    code = f"import json, sys\nimport {', '.join(modules)}\n{then}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))  # the last line: what `then` runs may log


@pytest.mark.parametrize("process", sorted(BUDGETS))
def test_a_process_imports_nothing_it_does_not_use_at_start(process):
    *modules, forbidden = BUDGETS[process]
    loaded = loaded_by(tuple(modules))
    assert set(modules) <= loaded  # the start itself was imported
    over = sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden))
    assert over == [], f"`sandbox {process}` imports at start what it does not use: {over}"


def test_what_up_imports_before_it_forks_is_what_every_process_loads_at_start():
    from sandbox.runtime.forking import SHARED

    every = set.intersection(*(loaded_by(tuple(BUDGETS[p][:-1])) for p in sorted(BUDGETS)))
    shared = loaded_by(SHARED)
    assert set(SHARED) <= shared
    assert sorted(shared - every) == []


@pytest.mark.parametrize("factory", ["sandbox.api.app:create_app", "ipn.app:create_app"])
def test_building_an_app_imports_neither_pydantic_nor_attrs(factory):
    """Litestar loads its pydantic and attrs plugins into any app built where those
    import (both are installed); ours are built without them (sandbox/runtime/litestar_apps.py)."""
    module, name = factory.split(":")
    loaded = loaded_by((module,), then=f"{module}.{name}()")
    assert sorted(m for m in loaded if m.split(".")[0] in ("pydantic", "attr", "attrs")) == []
