"""Every `bash` and `python` block of the README and the guides under docs/ runs, as a
reader would run it, against one fresh `sandbox up` (time scale 0, free ports).

Per page, its blocks run in order in one bash session, so what a block sets (`KEY`,
`PAYOUT_ID=$(curl … | jq -r .id)`) is there for the next. Blocks are extracted by
pytest-codeblocks' extractor; the rules of this runner:

- The session runs `set -Eeuo pipefail`: a failing command, an unset variable (a
  placeholder the page never filled) or a broken pipe fails the page, naming the block.
- `curl` answers with an HTTP error fail the block (`--fail-with-body`), except where the
  block prints the status itself (`-w`): a documented call that gets a 4xx is a doc bug.
- The documented ports (`127.0.0.1:8000`, `:8001`) are rewritten to this run's ports, and
  the session runs in a scratch directory whose `.sandbox/` is this run's data dir (so
  `$(cat .sandbox/admin-key)` reads its admin key) and where `openapi/` is the repo's.
- A `python` block runs in the same session (its exported variables visible); one that
  defines `test_` functions is a test module for the pytest plugin: it is saved where it
  stands and the page's modules run under pytest after its other blocks, against this
  sandbox (`MYPAY_SANDBOX_URL`, `MYPAY_ADMIN_KEY`), as the guides say to run them.
- A block preceded by `<!-- pytest.mark.skip(reason="…") -->` is not run; the reason is
  required, and the page says so in words the reader sees.
- A block that runs a program this machine lacks (`node`, `npm`, `npx` at the start of a
  line) is not run; the page's other blocks run, and the test then skips, naming the program
  and the block (the suite runs without Node, as the README says it does).
- Each page runs twice in a row, the second time in a new bash session against the same
  sandbox (and the same scratch directory): a reader follows a guide again, or copies it
  into a script that runs every day. A fixed idempotency key that replays the first run's
  answer about an object since deleted, or a name that must be unique, fails the second run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_codeblocks import extract_from_file

from tests.process.conftest import Up, scratch_dir

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUN = {"bash", "sh", "python"}
PAGE_TIMEOUT = 240
# Programs a block may run that the suite does not install: such a block runs where they are.
CALLED = re.compile(r"^\s*(node|npm|npx)\s", re.M)


def page_id(page: Path) -> str:
    return str(page.relative_to(REPO))


def skip_reason(marks: list[str]) -> str | None:
    """The reason of a `pytest.mark.skip(reason=…)` mark; any other mark is an error."""
    for mark in marks:
        m = re.fullmatch(r"""pytest\.mark\.skip\(reason=(["'])(.+)\1\)""", mark.strip())
        if m is None:
            raise AssertionError(f"unsupported mark {mark!r}: only pytest.mark.skip(reason=\"…\")")
        return m.group(2)
    return None


class Sandbox:
    def __init__(self, up: Up, scratch: Path) -> None:
        self.up, self.scratch, self.port, self.ipn_port = up, scratch, up.port, up.ipn_port

    def warnings(self, last: int = 15) -> str:
        """The sandbox's last warning and error lines: what it said of a block's failure
        (a 503's cause, say), which the page's own output does not show."""
        lines = [line[:400] for line in self.up.output().splitlines()
                 if '"level":"warning"' in line or '"level":"error"' in line]
        return "\n".join(lines[-last:]) or "(none)"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with scratch_dir() as scratch:
        (scratch / "openapi").symlink_to(REPO / "openapi")
        # Every page against this one sandbox, in any order: the teams page makes teams, which
        # turn the refusal of webhook targets inside the network on (a shared sandbox), and the
        # other pages register receivers on 127.0.0.1 as a reader's own sandbox lets them.
        up = Up(scratch / ".sandbox", SANDBOX_WEBHOOK_BLOCK_PRIVATE="false")
        try:
            up.wait_ready()
            yield Sandbox(up, scratch)
        finally:
            up.close()


def lacking(code: str) -> list[str]:
    """The programs `code` runs that this machine does not have."""
    return sorted({name for name in CALLED.findall(code) if shutil.which(name) is None})


def script_for(page: Path, sandbox: Sandbox) -> tuple[str, int, list[str]]:
    """The page's runnable blocks as one bash script, how many of them run, and the blocks
    left out for a program this machine lacks (each said as `where: needs …`)."""
    blocks = [b for b in extract_from_file(page) if (b.syntax or "").strip() in RUN]
    parts = [
        "set -Eeuo pipefail",
        "__block='(prelude)'",
        "trap 'echo \"FAILED: the block at $__block\" >&2' ERR",
        # A documented call that answers 4xx/5xx is a doc bug, unless the block prints the status.
        'curl() { case " $* " in *" -w "*|*" --write-out "*) command curl "$@";; '
        '*) command curl --fail-with-body --show-error "$@";; esac; }',
    ]
    ran, test_modules, left_out = 0, [], []
    for n, block in enumerate(blocks):
        where = f"{page_id(page)}:{block.lineno}"
        reason = skip_reason(block.marks)
        if reason is None and (missing := lacking(block.code)):
            reason = f"needs {' and '.join(missing)}, which this machine lacks"
            left_out.append(f"{where}: {reason}")
        if reason is not None:
            parts.append(f"echo {shlex.quote(f'-- {where}: not run ({reason})')}")
            continue
        ran += 1
        code = block.code.replace("127.0.0.1:8000", f"127.0.0.1:{sandbox.port}")
        code = code.replace("127.0.0.1:8001", f"127.0.0.1:{sandbox.ipn_port}")
        parts.append(f"__block={shlex.quote(where)}; echo \"-- {where} (at $SECONDS s)\"")
        syntax = (block.syntax or "").strip()
        if syntax == "python":
            end = f"__END_OF_BLOCK_{n}__"
            if re.search(r"^def test_", code, re.M):
                name = f"test_docs_block_{block.lineno}.py"
                parts.append(f"cat > {name} <<'{end}'\n{code}{end}")
                test_modules.append(name)
            else:
                parts.append(f"python - <<'{end}'\n{code}{end}")
        else:
            parts.append(code)
    if test_modules:  # one pytest run for the page's test modules: its start-up costs seconds
        parts.append(f"__block={shlex.quote(f'{page_id(page)}: the test modules ' + ' '.join(test_modules))}")
        parts.append(f"python -m pytest -q -p no:cacheprovider {' '.join(test_modules)}")
    parts.append("__block='(end of page)'")
    return "\n".join(parts) + "\n", ran, left_out


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_page_code_blocks_run(page: Path, sandbox: Sandbox) -> None:
    script, ran, left_out = script_for(page, sandbox)
    if ran == 0:
        pytest.skip("; ".join(left_out) or "no runnable block")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "MYPAY_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        UV_PROJECT=str(REPO), UV_NO_SYNC="1",
        # The CLI's defaults (`--url`) and the plugin point at this run's sandbox.
        SANDBOX_API_PORT=str(sandbox.port), SANDBOX_IPN_PORT=str(sandbox.ipn_port),
        MYPAY_SANDBOX_URL=f"http://127.0.0.1:{sandbox.port}",
        MYPAY_ADMIN_KEY=(sandbox.scratch / ".sandbox" / "admin-key").read_text().strip(),
    )
    for run in ("first", "second"):
        result = subprocess.run(["bash", "-c", script], cwd=sandbox.scratch, env=env, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=PAGE_TIMEOUT)
        assert result.returncode == 0, (
            f"{page_id(page)}, its {run} run: a code block failed (exit {result.returncode})\n"
            f"--- stdout (tail) ---\n{result.stdout[-3000:]}\n--- stderr (tail) ---\n{result.stderr[-3000:]}\n"
            f"--- the sandbox's last warnings ---\n{sandbox.warnings()}")
    if left_out:  # the rest ran and passed; the reader's machine with the program runs it all
        pytest.skip("not run here: " + "; ".join(left_out))
