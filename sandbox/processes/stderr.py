"""The one way a `sandbox` command writes a line for a person to stderr."""

from __future__ import annotations

import sys


def say_on_stderr(line: str) -> None:
    """`line` and its newline in one write. `print(line, file=sys.stderr)` writes them in two
    (stderr is written through), and a log that stores each write as a record of its own keeps
    two: Podman 4.3's `logs --tail N` (and its Docker-compatible API's) then counts the lone
    newline as the last line and shows a container that failed at start as having written
    nothing."""
    sys.stderr.write(f"{line}\n")
    sys.stderr.flush()


def fail(message: str, code: int = 1) -> int:
    """A `sandbox` command's failure: `sandbox: message` on stderr; returns `code`, the
    command's exit status."""
    say_on_stderr(f"sandbox: {message}")
    return code
