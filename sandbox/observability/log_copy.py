"""For the test suite only (tests/log_scan.py): with PYTEST_SANDBOX_LOGS set, a `sandbox`
command copies what it writes to stderr, and to stdout unless it is one of the commands that
print a key or secret to the person who asked for it (`up`'s banner, `merchant new`, `listen`'s
signing secret), to a file of its
own in that folder: `<command>-<pid>.log`. The processes it forks (`up`'s API, worker and
IPN, uvicorn's API processes) write through the same streams, so into the same file. The
suite greps every such file for keys at its end."""

from __future__ import annotations

import sys
from typing import IO, Any

from sandbox.settings import log_copy_dir

# Their stdout is where a person reads the keys they asked for; their stderr is still copied.
PRINTS_KEYS = frozenset({"up", "merchant", "listen"})


class _Tee:
    """A text stream that writes to the stream it stands for and to the copy."""

    def __init__(self, stream: IO[str], copy: IO[str]) -> None:
        self._stream, self._copy = stream, copy

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        try:
            self._copy.write(text)
            self._copy.flush()
        except (OSError, ValueError):  # the copy's folder went away: the stream still works
            pass
        return written

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, flush, encoding, buffer…
        return getattr(self._stream, name)


def start(command: str) -> None:
    """Copy this process's output (see the module's docstring); nothing without the variable."""
    folder = log_copy_dir()
    if folder is None:
        return
    import os

    folder.mkdir(parents=True, exist_ok=True)
    copy = open(folder / f"{command}-{os.getpid()}.log", "a", encoding="utf-8", errors="replace")  # noqa: SIM115
    if command not in PRINTS_KEYS:
        sys.stdout = _Tee(sys.stdout, copy)  # pyright: ignore[reportAttributeAccessIssue]
    sys.stderr = _Tee(sys.stderr, copy)  # pyright: ignore[reportAttributeAccessIssue]
