"""The pytest plugin's entry point (`pytest11` `mypay_sandbox`), under a name no project
uses. The plugin itself is `sandbox.testing.plugin`, and it runs inside the integrator's
test process: when that project has a `sandbox` package (or module) of its own, one
process can import only one of the two, and whichever comes second fails with an
ImportError far from the cause. This module looks before anything imports either, and
stops pytest with one message naming both and the way out.

(The processes the sandbox starts are not concerned: they never import from the
caller's project, see `sandbox.settings.child_env`.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

OURS = Path(__file__).resolve().parent / "sandbox"


def _clash(theirs: Path) -> pytest.UsageError:
    return pytest.UsageError(
        f"mypay-sandbox: this project has a package named `sandbox` ({theirs}), and so does the "
        f"MyPay Sandbox pytest plugin ({OURS}); one Python process can import only one of them. "
        "Rename the project's package, or run this suite without the plugin: `pytest -p no:mypay_sandbox` "
        "(a sandbox started apart with `sandbox up` is still reachable over HTTP).")


def _found_first() -> Path | None:
    """Where `import sandbox` leads in this process, when that is not the plugin's."""
    spec = importlib.util.find_spec("sandbox")
    where = Path(spec.origin).parent if spec and spec.origin else None
    if where is None and spec and spec.submodule_search_locations:
        where = Path(list(spec.submodule_search_locations)[0])
    return where if where is not None and where.resolve() != OURS else None


def _in(folder: Path) -> Path | None:
    """A `sandbox` package or module in `folder` that is not the plugin's. A folder
    without `__init__.py` does not count: Python prefers a regular package to it."""
    for candidate in (folder / "sandbox" / "__init__.py", folder / "sandbox.py"):
        if candidate.is_file() and candidate.resolve().parent != OURS:
            return candidate.parent if candidate.name == "__init__.py" else candidate
    return None


# `python -m pytest` in such a project: its `sandbox` is first on sys.path already.
if (_theirs := _found_first()) is not None:
    raise _clash(_theirs)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before conftest files import anything: the folders pytest is about to put on
    sys.path (the rootdir, the `pythonpath` setting) and the directory it runs in."""
    folders = [early_config.rootpath, early_config.invocation_params.dir]
    folders += [early_config.rootpath / p for p in early_config.getini("pythonpath")]
    for folder in folders:
        if (theirs := _in(Path(folder))) is not None:
            raise _clash(theirs)


pytest_plugins = ["sandbox.testing.plugin"]
