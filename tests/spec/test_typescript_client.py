"""A TypeScript integrator's view of the committed spec: types generated with
openapi-typescript (the version and the command the guide docs/api-conventions.md's
"Generated clients" states: its default settings) let a program compiled with
`tsc --strict` switch exhaustively over a payout's status, a clock's transitions and
the webhook union and GET /events' events, each event's `data.status` narrowed by its
`type` (tests/spec/ts/exhaustive.ts), and take every JSON body the README and the guides
send with curl as the operation's request type (tests/spec/guide_bodies.py). It fails
when a closed set stops being an enum, when a value is added that the program has no
case for, when an event's status stops following its type, or when a guide's body
would not compile.

Runs where node and npm are installed (skipped otherwise). The npm packages, pinned by
tests/spec/ts/package-lock.json, are installed once per lockfile into the system's temp
directory and reused by later runs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from sandbox.api.openapi_export import SPEC_PATH
from tests.spec.guide_bodies import guide_bodies, typescript

TS_DIR = Path(__file__).with_name("ts")
# None: the guide's command is the generator's default (the spec states request fields'
# defaults in words, so they stay optional; sandbox/api/openapi_spec.py `_defaults_in_words`).
GENERATE_FLAGS: list[str] = []
# --skipLibCheck: the program is what is checked, not the packages' own declarations.
TSC_FLAGS = ["--strict", "--noEmit", "--skipLibCheck", "--target", "es2022", "--module", "nodenext",
             "--moduleResolution", "nodenext", "--types", "node"]

pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="needs node and npm (TypeScript tooling)")


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The pinned packages, installed (`npm ci`) once per lockfile content."""
    lock = (TS_DIR / "package-lock.json").read_bytes()
    cached = Path(tempfile.gettempdir()) / f"mypay-sandbox-ts-{hashlib.sha256(lock).hexdigest()[:16]}"
    if not (cached / "node_modules" / ".bin" / "tsc").exists():
        staging = Path(tempfile.mkdtemp(prefix=cached.name + "-"))
        for name in ("package.json", "package-lock.json"):
            shutil.copy(TS_DIR / name, staging / name)
        run = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=staging,
                             capture_output=True, text=True, timeout=600, check=False)
        assert run.returncode == 0, run.stdout + run.stderr
        try:
            os.rename(staging, cached)  # atomic: a concurrent run that won keeps its copy
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return cached / "node_modules"


def _compile(node_modules: Path, tmp_path: Path, source: str) -> subprocess.CompletedProcess:
    """Generate the spec's types and compile `source` as exhaustive.ts against them."""
    (tmp_path / "node_modules").symlink_to(node_modules)
    (tmp_path / "exhaustive.ts").write_text(source)
    generate = subprocess.run(
        [str(node_modules / ".bin" / "openapi-typescript"), str(SPEC_PATH), *GENERATE_FLAGS,
         "-o", str(tmp_path / "schema.d.ts")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert generate.returncode == 0, generate.stdout + generate.stderr
    assert "warn" not in (generate.stdout + generate.stderr).lower(), generate.stdout + generate.stderr
    return subprocess.run([str(node_modules / ".bin" / "tsc"), *TSC_FLAGS, "exhaustive.ts"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)


def test_the_guides_request_bodies_compile(node_modules, tmp_path):
    """Every JSON body the README and the guides send with curl, typed as its operation's
    request body: the minimal ones too (a field with a default is not required)."""
    bodies = guide_bodies(json.loads(SPEC_PATH.read_text()))
    assert {"createPayout", "createScenario", "createSandboxMerchant", "createFaultRule", "advanceTestClock",
            "verifyAccount"} <= {b.operation_id for b in bodies}
    compile_ = _compile(node_modules, tmp_path, typescript(bodies))
    assert compile_.returncode == 0, compile_.stdout + compile_.stderr


def test_typescript_switches_exhaustively_over_statuses_and_events(node_modules, tmp_path):
    compile_ = _compile(node_modules, tmp_path, (TS_DIR / "exhaustive.ts").read_text())
    assert compile_.returncode == 0, compile_.stdout + compile_.stderr


@pytest.mark.parametrize("missing", [
    # The failure_code enum is closed: a client that forgets one code does not compile.
    '    case "account_dormant": return "ask the beneficiary to reactivate the account";\n',
    # A scenario step's status is a closed set too: a client building steps must cover each.
    '    case "on_hold": return { status, after_s };\n',
], ids=["failure code", "step status"])
def test_a_case_left_out_of_a_switch_fails_compilation(node_modules, tmp_path, missing):
    source = (TS_DIR / "exhaustive.ts").read_text()
    assert missing in source
    compile_ = _compile(node_modules, tmp_path, source.replace(missing, ""))
    assert compile_.returncode != 0
    assert missing.split('"')[1] in compile_.stdout + compile_.stderr
