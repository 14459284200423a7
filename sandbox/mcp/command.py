"""`sandbox mcp`, registered by the CLI (sandbox/cli.py). This module imports nothing of
the SDK: `sandbox --help` and every other command stay as quick as before, and a base
install (no `[mcp]` extra) says in one line what to install."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sandbox.mcp.defaults import MOST_SESSIONS
from sandbox.runtime.up import fail

HTTP_PORT = 8010  # documented in docs/coding-agents.md
TOKEN_ENV = "SANDBOX_MCP_TOKEN"
DEADLINE_S = 60.0  # one tool call's, by default (here, so `--help` imports no SDK)
IDLE_S = 300.0  # an HTTP session, or a session-less handle, unused this long ends (sandbox/mcp/merchants.py)


def add_command(sub, add_url: Callable, admin_key: Callable[[argparse.Namespace], str | None]) -> None:
    mcp = sub.add_parser(
        "mcp", help="a Model Context Protocol server over this sandbox's API, for coding agents (stdio, or --http)",
        description="Serve the sandbox's operations as MCP tools, its guides as resources. With --key it acts "
                    "as that merchant only; otherwise with the admin key (--admin-key, SANDBOX_ADMIN_KEY, or the "
                    "file `sandbox up` writes) it makes fresh merchants, each named by a handle, none reachable "
                    "by another client. Needs the extra: "
                    "pip install 'mypay-sandbox[mcp]'.")
    add_url(mcp)
    mcp.add_argument("--key", help="act as this merchant (sk_test_…) and nothing else")
    mcp.add_argument("--admin-key", help="make fresh merchants with it (default: SANDBOX_ADMIN_KEY, else the "
                                         "admin-key file `sandbox up` wrote in SANDBOX_DATA_DIR)")
    mcp.add_argument("--http", action="store_true",
                     help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (a shared sandbox)")
    mcp.add_argument("--host", default="127.0.0.1", help="--http: the address to listen on (default 127.0.0.1); "
                                                         "beyond loopback it needs --token and --allowed-host")
    mcp.add_argument("--port", type=int, default=HTTP_PORT, help=f"--http: the port (default {HTTP_PORT})")
    mcp.add_argument("--token", help="--http: a bearer token every request must carry (Authorization: Bearer …; "
                                     f"at least 16 characters); default {TOKEN_ENV}. Required beyond loopback")
    mcp.add_argument("--allowed-host", action="append", default=[], metavar="HOST[:PORT]",
                     help="--http: a Host header to accept besides the loopback names (repeatable); required "
                          "beyond loopback")
    mcp.add_argument("--allowed-origin", action="append", default=[], metavar="ORIGIN",
                     help="--http: an Origin header to accept besides loopback's, e.g. https://ide.example "
                          "(repeatable); requests with any other Origin are refused")
    mcp.add_argument("--tool-timeout", type=float, default=DEADLINE_S, metavar="SECONDS",
                     help=f"the deadline of one tool call, every request it makes included (default "
                          f"{DEADLINE_S:g}; 1 to 600)")
    mcp.add_argument("--idle-timeout", type=float, default=IDLE_S, metavar="SECONDS",
                     help=f"--http: a session, or a session-less merchant handle, unused this long ends and its "
                          f"merchants are forgotten (default {IDLE_S:g}; 10 to 86400)")
    mcp.add_argument("--max-sessions", type=int, default=MOST_SESSIONS, metavar="N",
                     help=f"--http: the most handshake sessions held at once, by every client together (default "
                          f"{MOST_SESSIONS}; 2 to 100000); when full, a newcomer's takes the least recently used of "
                          "a client holding more than its share")
    mcp.set_defaults(func=lambda args: run(args, admin_key))


def run(args: argparse.Namespace, admin_key: Callable[[argparse.Namespace], str | None]) -> int:
    import logging

    from sandbox.ci_arguments import header_safe
    from sandbox.ci_commands import url_of
    from sandbox.settings import SettingError, get_settings

    try:
        import mcp  # noqa: F401  (the optional extra)
    except ImportError:
        return fail("sandbox mcp needs the MCP SDK: pip install 'mypay-sandbox[mcp]'", 2)
    try:
        url = url_of(args)
    except SettingError as exc:
        return fail(str(exc), 2)
    key = args.key.strip() if args.key else None
    admin = None if key else admin_key(args)
    if key is None and admin is None:
        return fail("no key to act with: --key (one merchant's), or the admin key (--admin-key, SANDBOX_ADMIN_KEY, "
                    "or run `sandbox up` here first)", 2)
    if not header_safe(key or admin or ""):
        return fail("an API key is printable ASCII (sk_test_… or sk_admin_…), with no spaces or accents", 2)
    if not 1 <= args.tool_timeout <= 600:
        return fail("--tool-timeout is seconds from 1 to 600", 2)
    if not 10 <= args.idle_timeout <= 86400:
        return fail("--idle-timeout is seconds from 10 to 86400", 2)
    if not 2 <= args.max_sessions <= 100_000:
        return fail("--max-sessions is a count from 2 to 100000", 2)
    said = unusable(url)
    if said is not None:
        return fail(said, 2)
    token = args.token if args.token is not None else get_settings().mcp_token
    if token is not None and not args.http:
        return fail("--token is for --http (stdio has no network to guard)", 2)
    from sandbox.mcp.connection import Sandbox
    from sandbox.mcp.http import Refusal, security
    from sandbox.mcp.server import serve

    sandbox = Sandbox(url, key=key, admin_key=admin, transport="http" if args.http else "stdio", token=token,
                      deadline_s=args.tool_timeout, idle_s=args.idle_timeout)
    if args.http:
        try:
            security(args.host, token, args.allowed_host, args.allowed_origin)
        except Refusal as exc:
            return fail(str(exc), 2)
    # stdout is the protocol on stdio: httpx's line per request would only add noise on stderr.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        serve(sandbox, args.host, args.port, args.allowed_host, args.allowed_origin, args.idle_timeout,
              args.max_sessions)
    except KeyboardInterrupt:
        return 0
    return 0


def unusable(url: str) -> str | None:
    """Why the server could not call the API at `url` (None: it can): every call is the
    URL's path plus /api/v1/…, so a query or a fragment in it would be lost, and an /api/
    path must be /api/v1. Nothing of the URL is echoed (a query may carry a secret)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.query or url.rstrip().endswith("?"):
        return ("--url may not carry a query string (?…): every call adds /api/v1/… to its path, and the query "
                "would be lost; give the sandbox's root, like http://127.0.0.1:8000")
    if parts.fragment or "#" in url:
        return "--url may not carry a fragment (#…): give the sandbox's root, like http://127.0.0.1:8000"
    path = parts.path.rstrip("/")
    if any(c in path for c in " %\\") or ("/api/" in path + "/" and not path.endswith("/api/v1")):
        return ("--url's path is not a sandbox's: give its root (http://127.0.0.1:8000), its API (…/api/v1), or "
                "the path a proxy serves it under")
    return None
