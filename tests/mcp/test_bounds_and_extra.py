"""An answer fits an agent's context whatever the API hands back, and a base install (no
`[mcp]` extra) gets one line saying what to install, not a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

from sandbox.mcp.bounds import MAX_BYTES, fit


def test_a_small_answer_is_untouched_and_a_huge_one_is_cut_to_fit_and_says_so():
    small = {"data": [{"id": "po_1"}], "has_more": False}
    assert fit(small) == small
    huge = {"request": {"request_body": "x" * 70_000, "response_body": "y" * 70_000},
            "rows": [{"n": n, "text": "z" * 500} for n in range(400)]}
    cut = fit(huge)
    assert len(json.dumps(cut, ensure_ascii=False).encode()) <= MAX_BYTES
    assert "ask for a smaller page" in cut["cut"]
    assert cut["request"]["request_body"].startswith("xxx") and "more characters" in cut["request"]["request_body"]
    assert cut["rows"][-1].endswith("more")


def test_without_the_extra_sandbox_mcp_says_what_to_install():
    # The SDK made unimportable, as in a base install; every other command is unaffected.
    code = ("import sys; sys.modules['mcp'] = None; from sandbox.cli import main; "
            "sys.exit(main(['mcp', '--key', 'sk_test_x']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "pip install 'mypay-sandbox[mcp]'" in done.stderr and "Traceback" not in done.stderr
    help_ = subprocess.run([sys.executable, "-X", "importtime", "-m", "sandbox.cli", "--help"], capture_output=True,
                           text=True, timeout=60)
    assert help_.returncode == 0 and "mcp" in help_.stdout
    assert not [line for line in help_.stderr.splitlines() if line.rstrip().endswith(("| mcp", "| mcp.server"))]


def test_what_the_agent_receives_text_and_structured_together_is_under_the_bound():
    from mcp_types import CallToolResult, TextContent

    from sandbox.mcp.sealed import _bounded

    big = {"rows": [{"n": n, "text": "ü" * 300} for n in range(200)]}
    result = _bounded(CallToolResult(content=[TextContent(type="text", text=json.dumps(big, indent=2))],
                                     structured_content=big))
    text = result.content[0].text
    assert json.loads(text) == result.structured_content and "cut" in result.structured_content
    assert len(text.encode()) + len(json.dumps(result.structured_content, ensure_ascii=False,
                                               separators=(",", ":")).encode()) <= MAX_BYTES


def test_a_handle_is_its_clients_bounded_forgotten_when_idle_or_with_its_session():
    from sandbox.mcp.merchants import IDLE_S, MOST_PER_CLIENT, Client, Merchant, Registry, TooMany

    now = [0.0]
    held = Registry(clock=lambda: now[0])
    session, other, address = Client("s", True, "p1"), Client("t", True, "p2"), Client("x", False, "p3")
    mine = held.add(session, Merchant("sk_test_1", "mch_1"))
    loose = held.add(address, Merchant("sk_test_2", "mch_2"))
    assert held.find(session, mine) is not None and held.find(other, mine) is None
    assert held.find(session, loose) is None  # a session-less handle is not a session's
    assert held.find(Client("x", False, "p4"), loose) is not None  # ... but its holder's, from anywhere
    for n in range(MOST_PER_CLIENT - 1):
        held.add(session, Merchant(f"sk_test_s{n}"))
    try:
        held.add(session, Merchant("sk_test_over"))
        raise AssertionError("the bound was not kept")
    except TooMany as exc:
        assert f"you hold {MOST_PER_CLIENT} merchants" in str(exc) and f"{MOST_PER_CLIENT} in this session" in str(exc)
        assert "session-less" not in str(exc) and "other sessions" not in str(exc)  # nothing it does not hold
    assert held.find(session, mine) is not None  # nothing was evicted
    now[0] += IDLE_S + 1
    assert held.find(Client("x", False, "p3"), loose) is None  # session-less and idle: forgotten
    assert held.find(session, mine) is not None  # a session's stays while the session does
    held.end(session)
    assert held.find(session, mine) is None and len(held) == 0


def test_no_log_line_carries_a_session_id_or_a_handle_whole(caplog):
    import logging

    from sandbox.mcp.http import redact_logs

    undo = redact_logs()
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("mcp.server.streamable_http_manager").info(
                "Created new transport with session ID: %s", "0123456789abcdef0123456789abcdef")
            logging.getLogger("x").warning("handle %s", "mh_" + "A" * 32)
    finally:
        undo()
    assert "0123456789abcdef0123456789abcdef" not in caplog.text and "012345…" in caplog.text
    assert "A" * 32 not in caplog.text and "mh_AAAA…" in caplog.text


def test_a_full_server_makes_room_for_a_newcomer_from_the_greedy_client_not_from_the_newcomer():
    from sandbox.mcp.merchants import Client, Merchant, Registry, TooMany

    now = [0.0]
    held = Registry(clock=lambda: now[0], most_per_client=8, most_held=10)
    greedy, modest, newcomer = (Client("s", False, who) for who in ("greedy", "modest", "new"))
    first = held.add(greedy, Merchant("sk_test_g0"))
    for n in range(1, 8):
        now[0] += 1
        held.add(greedy, Merchant(f"sk_test_g{n}"))
    held.add(modest, Merchant("sk_test_m0"))
    held.add(modest, Merchant("sk_test_m1"))
    assert len(held) == 10
    mine = held.add(newcomer, Merchant("sk_test_n0"))  # full: the greedy one's least recently used goes
    assert held.find(newcomer, mine) is not None and held.find(greedy, first) is None
    assert len(held.held_by("greedy")) == 7 and len(held.held_by("modest")) == 2
    try:
        held.add(greedy, Merchant("sk_test_g8"))  # over its share on a full server: refused, not another
        raise AssertionError("the greedy client was let in")
    except TooMany as exc:
        assert "you hold 7, your share or more" in str(exc) and "7 in session-less calls" in str(exc)
    assert len(held.held_by("modest")) == 2 and len(held.held_by("new")) == 1


class StandInManager:  # the two methods of the SDK's session manager SessionShares wraps, and its sessions
    def __init__(self) -> None:
        self._server_instances: dict = {}
        self.made = 0

    def _admit_session(self, requestor):
        from types import SimpleNamespace

        sid = f"{self.made}-{requestor}"
        self.made += 1
        self._server_instances[sid] = SimpleNamespace(mcp_session_id=sid)
        return self._server_instances[sid]

    async def _discard_session(self, sid, transport):
        self._server_instances.pop(sid, None)


async def test_a_full_server_ends_the_greedy_clients_idlest_session_for_a_newcomer():
    from sandbox.mcp.fairness.shares import _OPENING, Opening, SessionShares

    now = [0.0]
    manager = StandInManager()
    shares = SessionShares(manager, None, idle_s=300, most=4, per_client=3, clock=lambda: now[0])  # type: ignore[arg-type]

    def open_(who: str, pending: bool = False) -> None:
        token = _OPENING.set(Opening(who, pending))
        manager._admit_session(who)
        _OPENING.reset(token)
        now[0] += 1

    for who in ("greedy", "greedy", "greedy", "modest"):
        open_(who)
    refused = await shares._admit("greedy")  # its own bound, in words
    assert refused is not None and refused[0] == 429 and "you hold 3 open sessions" in refused[1]
    assert await shares._admit("new") is None  # full: room made from the greedy client
    assert len(shares.held_by("greedy")) == 2 and "0-greedy" not in manager._server_instances
    open_("new", pending=True)  # the place it was let in with becomes its session
    refused = await shares._admit("modest")  # full again, and nobody is over a share of 4 // 3
    assert refused is not None and refused[0] == 503 and "you hold 1, your share or more" in refused[1]


async def test_concurrent_handshakes_from_one_client_get_its_bound_of_sessions_not_one_more():
    """The SDK registers a session only after awaits of its own: handshakes let in
    meanwhile must count against the bound (a burst of 10 at a time once got 21 of 20), and
    one that ends without a session gives its place back."""
    from types import SimpleNamespace

    import anyio

    from sandbox.mcp.fairness.shares import SESSIONS_PER_CLIENT, SessionShares

    manager = StandInManager()
    async def greedy(scope) -> str:
        return "greedy"

    peers = SimpleNamespace(who=greedy)
    shares = SessionShares(manager, peers, idle_s=300)  # type: ignore[arg-type]
    failing = {3, 7}  # handshakes the SDK refuses before registering a session

    def stand_in_sdk(n: int):
        async def app(scope, receive, send) -> None:
            for _ in range(3):  # the SDK's own awaits before it registers the session
                await anyio.lowlevel.checkpoint()
            if n in failing:
                await send({"type": "http.response.start", "status": 400, "headers": []})
                return
            manager._admit_session(None)
            await send({"type": "http.response.start", "status": 200, "headers": []})

        return app

    statuses: list[int] = []

    async def handshake(n: int) -> None:
        async def send(message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        scope = {"type": "http", "method": "POST", "headers": []}
        await shares.middleware(stand_in_sdk(n))(scope, None, send)  # type: ignore[arg-type]

    async with anyio.create_task_group() as group:
        for n in range(SESSIONS_PER_CLIENT + 10):
            group.start_soon(handshake, n)
    assert statuses.count(200) == SESSIONS_PER_CLIENT == len(shares.held_by("greedy"))
    assert statuses.count(400) == len(failing) and statuses.count(429) == 10 - len(failing)
    assert shares._pending == {}  # every place let in became a session or was given back


def test_the_bounds_the_guide_states_are_the_servers():
    from pathlib import Path

    from sandbox.mcp.fairness.shares import MOST_SESSIONS, SESSIONS_PER_CLIENT
    from sandbox.mcp.merchants import IDLE_S, MOST_HELD, MOST_PER_CLIENT

    assert (SESSIONS_PER_CLIENT, MOST_PER_CLIENT, MOST_SESSIONS, MOST_HELD, IDLE_S) == (20, 20, 1000, 1000, 300)
    guide = (Path(__file__).parents[2] / "docs" / "coding-agents.md").read_text()
    assert "at most 20 merchants at once" in guide and "at most 20 open sessions" in guide
    assert "most 1,000 of each" in guide and "5 minutes unused" in guide


async def test_a_client_is_its_process_on_loopback_and_its_token_beyond():
    import os
    import socket

    from sandbox.mcp.fairness.peers import Peers, bearer_holder

    peers = Peers()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            scope = {"client": client.getsockname(), "server": server.getsockname(), "headers": []}
            assert await peers.who(scope) == f"process {os.getpid()}"  # read from the kernel, whatever address
    token = [(b"authorization", b"Bearer t0ken-0123456789abcdef")]
    far = await peers.who({"client": ("10.0.0.5", 40000), "server": ("10.0.0.1", 8010), "headers": token})
    assert far == await peers.who({"client": ("10.9.9.9", 50000), "server": ("10.0.0.1", 8010), "headers": token})
    assert far == bearer_holder(token[0][1]) and "t0ken" not in far  # the holder, never the token itself
