"""`sandbox listen` and `sandbox logs tail`, registered by the CLI (sandbox/cli.py): the
commands that hold a stream open from wherever the user is to the sandbox
(docs/listening.md). Their work is in listener.py and tail.py beside it;
this module imports neither until a command runs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

DEMO_KEY_SAYS = "the seeded Demo Merchant Alpha's"
# The merchant key from the environment, so that it is not in `ps` and shell history as --key is.
KEY_VARIABLE = "SANDBOX_API_KEY"
KEY_HELP = f"the merchant's API key (default: ${KEY_VARIABLE}, else {DEMO_KEY_SAYS})"


def add_commands(sub, add_url: Callable, url_of: Callable[[argparse.Namespace], str]) -> None:
    """`url_of` reads `--url` as the CLI's other commands do (a bad default says why then)."""
    listen = sub.add_parser(
        "listen", help="receive a merchant's webhooks here and forward them to a local URL (no inbound route needed)",
        description="Open the merchant's listener endpoint and forward every delivery to --forward-to, signed as "
                    "a URL endpoint's are (Standard Webhooks). The connection goes outward, from here to the "
                    "sandbox, so the sandbox needs no route to the receiver. Listeners under one --name share "
                    "its deliveries; under different names each gets every event. docs/listening.md")
    listen.add_argument("--forward-to", help="the receiver's URL, e.g. http://localhost:3000/webhooks")
    listen.add_argument("--events", default="*", help="comma-separated event types or families (payout.*,…); "
                                                      "default every event")
    listen.add_argument("--name", default="default", help="the listener endpoint's name (default: default)")
    listen.add_argument("--key", help=KEY_HELP)
    listen.add_argument("--print-secret", action="store_true", help="print the signing secret and exit")
    add_url(listen)
    listen.set_defaults(func=lambda args: run_listen(args, url_of))
    logs = sub.add_parser("logs", help="the merchant's request log").add_subparsers(
        dest="logs_command", required=True, metavar="COMMAND")
    tail = logs.add_parser("tail", help="print the merchant's API requests as they are answered",
                           description="One line per request (time, status, method, path, duration, idempotency "
                                       "key and outcome, fault, request id), or --format json for the entries as "
                                       "JSON lines; secrets redacted as in the request log.")
    tail.add_argument("--status", help="only this status (404) or class (4xx)")
    tail.add_argument("--path", help="only paths starting with this (/api/v1/payouts)")
    tail.add_argument("--method", type=str.upper, help="only this method (POST)")
    tail.add_argument("--idempotency-outcome", choices=("first", "replayed", "conflict", "in_flight"),
                      help="only requests whose idempotency key had this outcome")
    tail.add_argument("--format", choices=("text", "json"), default="text", help="text lines (default) or JSON lines")
    tail.add_argument("--key", help=KEY_HELP)
    add_url(tail)
    tail.set_defaults(func=lambda args: run_tail(args, url_of))


def _key(args: argparse.Namespace) -> str:
    from seeds.seed import DEMO_MERCHANTS

    return args.key or os.environ.get(KEY_VARIABLE) or DEMO_MERCHANTS[0][2]


def _print(line: str) -> None:
    print(line, flush=True)


def fail(message: str, code: int) -> int:
    sys.stderr.write(f"sandbox: {message}\n")  # one write, as sandbox/processes/stderr.py says why
    return code


def _run(main, args: argparse.Namespace, url_of: Callable[[argparse.Namespace], str]) -> int:
    """Whatever goes wrong before the stream opens ends in one line and status 2."""
    import asyncio
    import logging

    import httpx

    # httpx's line per request would double every line these commands print.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        url = url_of(args)
    except ValueError as exc:  # the settings' error: a bad SANDBOX_API_PORT behind the default
        main.close()
        return fail(str(exc), 2)
    from sandbox.client.listener import KEY_STOPPED, KeyStopped

    try:
        return asyncio.run(main)
    except KeyStopped as exc:  # the stream's key stopped working: it says why, and nothing reconnects
        return fail(str(exc), KEY_STOPPED)
    except httpx.HTTPStatusError as exc:
        return fail(f"the sandbox refused: {exc}", 2)
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        return fail(f"cannot reach {url}: {type(exc).__name__}: {exc}", 2)
    except KeyboardInterrupt:
        return 0


def run_listen(args: argparse.Namespace, url_of: Callable[[argparse.Namespace], str]) -> int:
    from sandbox.client.listener import Options, listen

    if not args.forward_to and not args.print_secret:
        return fail("say where to forward: --forward-to http://localhost:PORT/PATH (or --print-secret)", 2)
    events = [e.strip() for e in args.events.split(",") if e.strip()] or ["*"]
    options = Options(url=str(args.url), key=_key(args), forward_to=args.forward_to or "", events=events,
                      name=args.name, out=_print)
    return _run(listen(options, args.print_secret), args, url_of)


def run_tail(args: argparse.Namespace, url_of: Callable[[argparse.Namespace], str]) -> int:
    from sandbox.client.tail import Options, tail

    options = Options(url=str(args.url), key=_key(args), method=args.method, path=args.path, status=args.status,
                      idempotency_outcome=args.idempotency_outcome, json=args.format == "json", out=_print)
    return _run(tail(options), args, url_of)
