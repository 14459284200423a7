from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from sandbox.observability import logs
from tests.webhooks.conftest import receiver  # noqa: F401 (a local webhook receiver, as the webhook tests use)


class JsonLines:
    """Every log line the process writes while the test runs, as the JSON formatter
    renders it (the same formatter and context filter `sandbox api|worker` use)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logs.JsonFormatter())
        self.handler.addFilter(logs.ContextFilter())

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def where(self, **fields) -> list[dict]:
        return [line for line in self.lines() if all(line.get(k) == v for k, v in fields.items())]


@pytest.fixture
def json_logs() -> Iterator[JsonLines]:
    captured = JsonLines()
    root = logging.getLogger()
    root.addHandler(captured.handler)
    try:
        yield captured
    finally:
        root.removeHandler(captured.handler)
