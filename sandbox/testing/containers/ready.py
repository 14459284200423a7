"""When a started sandbox container is ready, or why it never will be.

testcontainers' HttpWaitStrategy polls `/api/v1/ready` (the one meaning of ready: 200
once the API, the IPN and the worker all serve), but on its own it goes on polling a
container that has already exited until its timeout runs out. A sandbox that refuses
its settings (a malformed admin key, say) exits within a second, so this strategy also
looks at the container between two polls and gives up at once, with its log."""

from __future__ import annotations

import time

from testcontainers.core.wait_strategies import HttpWaitStrategy
from testcontainers.core.waiting_utils import WaitStrategyTarget

READY_PATH = "/api/v1/ready"
# Statuses from which a container may still come to serve (Docker's and Podman's words).
_MAY_STILL_SERVE = {"created", "running", "restarting"}
LOG_TAIL_LINES = 60
LOG_SETTLE_S = 3.0


class SandboxDidNotStart(RuntimeError):
    """The container never answered ready: it exited, its image is missing, or the
    deadline passed. The message holds the container's last log lines when there were any."""


class ExitedWhileStarting(RuntimeError):
    def __init__(self, status: str) -> None:
        super().__init__(f"the container stopped ({status}) before {READY_PATH} answered 200")


class ReadyOrExited(HttpWaitStrategy):
    """HttpWaitStrategy on the API port's /api/v1/ready, failing fast on an exited container."""

    def __init__(self, port: int) -> None:
        super().__init__(port, READY_PATH)
        self._target: WaitStrategyTarget | None = None

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        self._target = container
        try:
            super().wait_until_ready(container)
        finally:
            self._target = None

    def _try_http_request(self, url, headers, ssl_context) -> bool:  # type: ignore[override]
        if super()._try_http_request(url, headers, ssl_context):
            return True
        if self._target is not None:
            self._target.reload()
            if self._target.status not in _MAY_STILL_SERVE:
                raise ExitedWhileStarting(self._target.status)
        return False


def log_tail(container: WaitStrategyTarget, lines: int = LOG_TAIL_LINES) -> str:
    """The container's last `lines` lines of output (stdout and stderr), or why there are
    none. The engine may report an exit a moment before the last words reach its log."""
    deadline = time.monotonic() + LOG_SETTLE_S
    while True:
        try:
            stdout, stderr = container.get_logs()
        except Exception as exc:  # noqa: BLE001 - the start's own failure matters more than this aid
            return f"(no log: {exc})"
        text = (stdout + stderr).decode(errors="replace").rstrip()
        if text or time.monotonic() > deadline:
            return "\n".join(text.splitlines()[-lines:]) or "(the container wrote nothing)"
        time.sleep(0.1)
