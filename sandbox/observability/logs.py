"""Logs: one line per event on stderr, JSON by default for `sandbox api|worker|ipn`
(`SANDBOX_LOG_FORMAT=text` for people reading a terminal).

Every line carries `timestamp`, `level`, `logger`, `message` and, when known,
`request_id`, `merchant_id` and `payout_id`. Those three come from a per-request (or
per-job) context set by the request-log middleware, the auth middleware and the job
wrapper, so services log without passing them around.

The event loop never writes to stderr itself: records go through a queue to a thread
that formats and writes them, so a slow reader of our stderr cannot stall requests.
Known key and secret shapes are masked in every line as a last line of defence; nothing
should log them in the first place (tests/security greps for them)."""

from __future__ import annotations

import atexit
import itertools
import logging
import logging.handlers
import os
import queue
import re
import sys
import threading
import time
from contextvars import ContextVar
from typing import Any

import msgspec

CONTEXT_FIELDS = ("request_id", "merchant_id", "payout_id")

# The fields of one request or job. A mutable dict in a context variable: the request
# middleware sets a fresh one, inner layers (auth, handlers) fill it in, and the outer
# layer still sees their additions when it writes the request's line.
_context: ContextVar[dict[str, Any] | None] = ContextVar("sandbox_log_context", default=None)

# API keys (sk_test_…, sk_admin_…) and webhook keys (whsec_…, whsk_…; public keys are
# not secret but masked alike, for simplicity).
_SECRET = re.compile(r"\b(sk_test_|sk_admin_|whsec_|whsk_|whpk_)[A-Za-z0-9_\-+/=]{4,}")

# LogRecord's own attributes; anything else on a record came from `extra=` and is logged
# (except uvicorn's `color_message`, the same message with terminal colours).
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "color_message"}


def new_context(**fields: Any) -> dict[str, Any]:
    """Start the context of one request or job (in its own asyncio task)."""
    ctx = dict(fields)
    _context.set(ctx)
    return ctx


def bind(**fields: Any) -> None:
    """Add fields to the current request's or job's context (no-op outside one)."""
    ctx = _context.get()
    if ctx is not None:
        ctx.update(fields)


def current() -> dict[str, Any] | None:
    return _context.get()


_SECRET_MARKS = ("sk_test_", "sk_admin_", "whsec_", "whsk_", "whpk_")


def redact(text: str) -> str:
    # Substring tests first: most lines hold no secret, and these cost a fraction of the
    # regex; three plain tests rather than a generator over the five marks, which cost a
    # line 8.8 k instructions (figures in docs/benchmark.md).
    if "sk_" in text or "whs" in text or "whp" in text:
        return _SECRET.sub(lambda m: m.group(1) + "[redacted]", text)
    return text


class ContextFilter(logging.Filter):
    """Copies the current context onto the record, in the thread that logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context.get()
        if ctx:
            for key in CONTEXT_FIELDS:
                value = ctx.get(key)
                if value is not None and not hasattr(record, key):
                    setattr(record, key, value)
        return True


# The second a line was last written in, as text: strftime and gmtime were a quarter of a
# line's formatting (16 k instructions of 68 k), and lines come many to a second.
_second: tuple[int, str] = (-1, "")


def _iso(created: float) -> str:
    global _second
    second = int(created)
    if second != _second[0]:
        _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{_second[1]}.{int(created % 1 * 1000):03d}Z"


# LogRecord's constructor sets its own attributes first, and in a fixed order: what `extra=`
# and the context filter add comes after them. Only that tail is looked through (the whole
# record's 25 attributes, each tested, were 18 k instructions a line).
_INIT_FIELDS = len(vars(logging.LogRecord("", 0, "", 0, "", None, None)))


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in itertools.islice(record.__dict__.items(), _INIT_FIELDS, None)
            if k not in _STANDARD and not k.startswith("_")}


_encode = msgspec.json.Encoder(enc_hook=str).encode

# Control characters (C0, DEL, C1) in what a line quotes, which a client may choose (a
# path, a header): raw, a newline starts a forged log line and ESC drives the terminal
# that shows the log. Each format writes them escaped.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNESCAPED_BY_JSON = re.compile(r"[\x7f-\x9f]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """`text` with each control character written as an escape (\\n, \\x1b)."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: _SHORT_ESCAPES.get(m.group()) or f"\\x{ord(m.group()):02x}", text)


def _as_json_escape(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


class JsonFormatter(logging.Formatter):
    """About 20 lines of our own instead of python-json-logger: msgspec (already ours)
    encodes, and we want a fixed field order and redaction, not a configurable mapper."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_extras(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        text = _encode(line).decode()  # msgspec escapes C0 controls; DEL and C1 it leaves
        if not text.isascii() or "\x7f" in text:  # both tests in C, where the regex's search cost 11 k
            text = _UNESCAPED_BY_JSON.sub(_as_json_escape, text)
        return redact(text)


class TextFormatter(logging.Formatter):
    """One line per record, what a client sent (a path, say) escaped like the rest; a
    traceback follows on lines of its own, indented, so only a record starts a line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        extras = _extras(record)
        if extras:
            text += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        text = escape_controls(text)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        for block in (record.exc_text, record.stack_info and self.formatStack(record.stack_info)):
            if block:
                text += "".join(f"\n    {escape_controls(part)}" for part in block.splitlines())
        return redact(text)


class _Handoff(logging.handlers.QueueHandler):
    """Hands records to the writer thread: the message is rendered here (its args may
    change later), the traceback kept apart so the formatter can put it in `exc`.
    The record is changed in place (rendering does not change what other handlers see)
    and copied only when it carries a traceback, which the copy drops."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if exc_info := record.exc_info:
            record = logging.makeLogRecord(record.__dict__)
            record.exc_text = logging.Formatter().formatException(exc_info)
            record.exc_info = None
        if record.args:
            record.msg, record.args = record.getMessage(), None
        return record


class _Writer:
    """The thread that formats and writes: every INTERVAL_S it takes all the records
    waiting and writes them in one call. It does not wait on the queue: a thread woken
    for every record cost the event loop more than formatting the record did (figures
    in docs/benchmark.md)."""

    INTERVAL_S = 0.05

    def __init__(self, records: queue.SimpleQueue, stream, fmt: logging.Formatter) -> None:
        self.records, self.stream, self.fmt = records, stream, fmt
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.wait(self.INTERVAL_S):
            self.drain()
        self.drain()

    def drain(self) -> None:
        lines = []
        while True:
            try:
                record = self.records.get_nowait()
            except queue.Empty:
                break
            try:
                lines.append(self.fmt.format(record) + "\n")
            except Exception:  # a record that cannot be formatted must not stop the others
                lines.append(f"unformattable log record from {record.name}\n")
        if lines:
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except (OSError, ValueError):
                pass  # stderr closed: nowhere left to say so

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)


_listener: _Writer | None = None
_handler: logging.Handler | None = None


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure(fmt: str, level: str = "INFO") -> None:
    """Install our handler on the root logger (again: replaces the one an earlier call
    installed and the plain stderr handler `logging.basicConfig` made; leaves any other
    handler, e.g. pytest's, alone). uvicorn's access log is switched off: the request
    middleware writes a richer line per request, and two would double the cost."""
    global _listener, _handler
    if fmt not in ("json", "text"):
        raise ValueError(f"SANDBOX_LOG_FORMAT must be json or text, got {fmt!r}")
    root = logging.getLogger()
    for h in list(root.handlers):
        basic = type(h) is logging.StreamHandler and getattr(h, "stream", None) in (sys.stderr, sys.__stderr__)
        if h is _handler or basic:
            root.removeHandler(h)
    if _listener is not None:
        _listener.stop()
    records: queue.SimpleQueue = queue.SimpleQueue()
    _handler = _Handoff(records)
    _handler.addFilter(ContextFilter())
    _listener = _Writer(records, sys.stderr, formatter(fmt))
    root.addHandler(_handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        # uvicorn's own handlers print plain text; let its records reach ours instead.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    # Piccolo logs a guessed server version at INFO before it has connected anywhere.
    logging.getLogger("piccolo").setLevel(logging.WARNING)


@atexit.register
def flush() -> None:
    """Write every record still waiting and stop the writer: at exit, and before a forked
    child ends with os._exit (which runs no atexit handler: a worker's last lines, such as
    what it handed back at its stop, were lost with the writer thread's last interval)."""
    if _listener is not None:
        _listener.stop()


def _resume_writer() -> None:
    global _listener
    if _listener is not None:
        _listener = _Writer(_listener.records, _listener.stream, _listener.fmt)


# A forked process has no writer thread (only the thread that forked goes on in it), and a
# thread stopped mid-write would leave the stream's lock held in it: the writer stops (as
# at exit, writing what it holds) before a fork, and each side starts its own after
# (`sandbox api` forks its processes).
os.register_at_fork(before=flush, after_in_parent=_resume_writer, after_in_child=_resume_writer)
