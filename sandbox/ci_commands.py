"""The commands a CI job runs against a running sandbox, in any language: `sandbox
merchant new` (a merchant of its own), `sandbox clock advance` (its manual clock) and
`sandbox gate` (the verdict, which is POST /api/v1/sandbox/gate's: the CLI only asks).

Each reads every answer through the spec's types (sandbox/client/answers.py) within one
deadline (`--timeout`) and a cap on each body, checks its arguments before sending
anything, and ends in one line on stderr when it cannot do its work, never a traceback.
Exit statuses: `gate` 0 held, 1 fell short, 2 could not judge (anything else);
`merchant new` and `clock advance` 0 done, 1 the sandbox refused or could not be reached,
2 an argument, or an answer the API does not document (or none in time)."""

from __future__ import annotations

import argparse
import sys

from sandbox.ci_arguments import header_safe
from sandbox.coverage.asked import EVERY_SCENARIO, EVERY_SCENARIO_MEANS, OPERATOR_PATHS, SAFE_RETRIES_MEANS
from sandbox.runtime.up import fail, local_url, say
from sandbox.settings import ADMIN_KEY_FILE, SettingError, get_settings

URL_DEFAULT_SAYS = "http://127.0.0.1:$SANDBOX_API_PORT"
BAD_ARGUMENT = 2


class BadSetting(str):
    """A --url default that could not be made: the message, raised when a command runs."""


def default_url() -> str:
    """The one default of every command's --url: this machine's sandbox on SANDBOX_API_PORT
    (8000 unless set), as `sandbox up` prints it."""
    return local_url(get_settings(), get_settings().api_port)


def add_url(parser: argparse.ArgumentParser) -> None:
    try:
        default: str = default_url()
        here = f", here {default}"
    except SettingError as exc:  # said when the command runs: `--help` still works
        default, here = BadSetting(str(exc)), ""
    parser.add_argument("--url", type=_url, default=default,
                        help=f"the sandbox (default {URL_DEFAULT_SAYS}{here})")


def url_of(args: argparse.Namespace) -> str:
    if isinstance(args.url, BadSetting):
        raise SettingError(str(args.url))
    return args.url


def cannot_reach(url: str, why: str) -> str:
    try:
        said = "" if url != default_url() else f" (the default, {URL_DEFAULT_SAYS}; another sandbox: --url)"
    except SettingError:
        said = ""
    return f"cannot reach {url}{said}: {why}"


# --- arguments, each checked in words -----------------------------------------------


def _url(text: str) -> str:
    import httpx

    if isinstance(text, BadSetting):  # argparse passes a default through `type` too
        return text
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL of a sandbox")
    return text


def _key(text: str) -> str:
    from sandbox.ci_arguments import header_safe

    if not header_safe(text.strip()):
        raise argparse.ArgumentTypeError("an API key is printable ASCII (sk_test_… or sk_admin_…), with no "
                                         "spaces or accents")
    return text.strip()


def _seconds(text: str) -> float:
    from sandbox.ci_arguments import finite_seconds
    from sandbox.clocks.schemas import MAX_ADVANCE_S

    try:
        return finite_seconds(text, MAX_ADVANCE_S)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _timeout(text: str) -> float:
    from sandbox.ci_arguments import MAX_TIMEOUT_S, finite_seconds

    try:
        seconds = finite_seconds(text, MAX_TIMEOUT_S)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("the deadline must be more than 0 seconds")
    return seconds


def _endpoint(text: str) -> str:
    from sandbox.verdicts.shapes import ENDPOINT_ID

    if not ENDPOINT_ID.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a webhook endpoint's id (we_ and letters, digits, _)")
    return text.strip()


def _add_timeout(parser: argparse.ArgumentParser) -> None:
    from sandbox.ci_arguments import DEFAULT_TIMEOUT_S

    parser.add_argument("--timeout", type=_timeout, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"give up (exit 2) when the whole command has not had its answers within this "
                             f"long (default {DEFAULT_TIMEOUT_S:g})")


# --- running a command --------------------------------------------------------------


def _run(args: argparse.Namespace, work, refused: int) -> int:
    """Run the command's coroutine within its deadline; each way it can fail is one line
    and a status: `refused` for a refusal or no connection, 2 for anything else."""
    import asyncio
    import logging

    from sandbox.client.answers import NotTheApi, Refused, Unreachable, within

    logging.getLogger("httpx").setLevel(logging.WARNING)  # these commands print what matters
    try:
        url = url_of(args)
        return asyncio.run(within(args.timeout, work(url), url))
    except SettingError as exc:
        return fail(str(exc), BAD_ARGUMENT)
    except Refused as exc:
        return fail(str(exc), refused)
    except Unreachable as exc:
        return fail(cannot_reach(args.url, str(exc)), refused)
    except NotTheApi as exc:
        return fail(str(exc), 2)
    except KeyboardInterrupt:
        return fail("interrupted", 130)


def cmd_gate(args: argparse.Namespace) -> int:
    """Exit 0 when every requirement held, 1 when one fell short, 2 when it could not judge."""
    from sandbox.client import gate
    from sandbox.verdicts import report

    try:
        keys = list(args.key or []) + [_key(k) for k in (get_settings().gate_keys or "").split(",") if k.strip()]
    except argparse.ArgumentTypeError as exc:
        return fail(f"SANDBOX_GATE_KEYS: {exc}", 2)
    if not keys:
        return fail("no merchant key to judge: --key KEY (repeatable), or SANDBOX_GATE_KEYS", 2)
    try:
        required = gate.requirements(args.require_coverage, args.require_safe_retries, args.audit_endpoint)
    except gate.NothingToJudge as exc:
        return fail(str(exc), 2)
    verdict = None
    refusal = None

    async def work(url: str) -> int:
        nonlocal verdict, refusal
        from sandbox.client.answers import Refused

        try:
            verdict = await gate.judge(url, list(dict.fromkeys(keys)), required)
        except Refused as exc:
            refusal = exc if exc.status == 422 else None  # asked what the gate does not model or know
            raise
        return 0

    status = _run(args, work, refused=2)
    if verdict is None:
        if refusal is not None and args.junit:  # an <error>: the report says it could not judge, in words
            try:
                with open(args.junit, "wb") as out:
                    out.write(report.junit_error(str(refusal)))
            except OSError as exc:
                return fail(f"cannot write {args.junit}: {exc.strerror}", 2)
        return status
    url = url_of(args)
    for path, content in ((args.junit, report.junit), (args.json, gate.as_json)):
        if path:
            try:
                with open(path, "wb") as out:
                    out.write(content(verdict))
            except OSError as exc:
                return fail(f"cannot write {path}: {exc.strerror}", 2)
            say(f"wrote {path}")
    sys.stdout.write(report.words(verdict, url))  # the verdict last, where a CI log is read
    return 0 if verdict.held else 1


def admin_key_of(args: argparse.Namespace) -> str | None:
    """--admin-key, else SANDBOX_ADMIN_KEY, else the one `sandbox up` saved in its data dir."""
    if args.admin_key or get_settings().admin_key:
        return args.admin_key or get_settings().admin_key
    saved = get_settings().data_dir / ADMIN_KEY_FILE
    return saved.read_text(errors="replace").strip() if saved.is_file() else None


async def _wait_ready(http, seconds: float) -> None:
    """Until /ready answers 200 (every part of the sandbox serving: the API, the IPN, the
    worker), asking every 50 ms; Unreachable, naming what was down, after `seconds`."""
    import asyncio

    from sandbox.client import answers

    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            answer = await answers.fetch(http, "GET", "/ready")
            if answer.status == 200:
                return
            last = f"{answer.status} {answer.body[:300].decode(errors='replace')}"
        except answers.Unreachable as exc:
            last = str(exc)
        if asyncio.get_running_loop().time() >= deadline:
            raise answers.Unreachable(f"/api/v1/ready did not answer 200 within {seconds:g} s (--wait); last: {last}")
        await asyncio.sleep(0.05)


def cmd_merchant_new(args: argparse.Namespace) -> int:
    import json

    from sandbox.client import answers

    admin_key = admin_key_of(args)
    if admin_key is None:
        saved = (get_settings().data_dir / ADMIN_KEY_FILE).resolve()
        return fail(f"no admin key: --admin-key, SANDBOX_ADMIN_KEY, or the file {saved} that `sandbox up` writes "
                    "(SANDBOX_DATA_DIR names its folder)")
    if not header_safe(admin_key):
        return fail("the admin key is printable ASCII (sk_admin_…), with no spaces or accents: check "
                    "--admin-key, SANDBOX_ADMIN_KEY or the admin-key file", 2)
    made: dict = {}

    async def work(url: str) -> int:
        from uuid import uuid4

        from sandbox.simulator.schemas import NewMerchantOut

        body = {"name": f"cli {uuid4().hex[:8]}", "opening_balance": args.balance,
                "clock": args.clock or "live"}
        async with answers.client(url, admin_key) as http:
            if args.wait:
                await _wait_ready(http, args.wait)
            answer = await answers.fetch(http, "POST", "/sandbox/merchants", json=body,
                                         headers={"X-Idempotency-Key": uuid4().hex})
        created = answers.decoded(answer, 201, NewMerchantOut)
        made.update(id=created.merchant.id, api_key=created.api_key, clock=created.merchant.clock,
                    balance=body["opening_balance"], url=url)
        return 0

    args.timeout += args.wait or 0  # the deadline is for the answers once the sandbox is ready
    status = _run(args, work, refused=1)
    if not made:
        return status
    from sandbox.verdicts.report import shown

    if args.json:
        sys.stdout.write(json.dumps(made) + "\n")  # JSON escapes what a terminal must not see raw
    else:
        sys.stdout.write("".join(f"{k:<8} {shown(str(v))}\n" for k, v in made.items()))
    return 0


def cmd_clock_advance(args: argparse.Namespace) -> int:
    import msgspec

    from sandbox.client import answers
    from sandbox.clocks.schemas import ClockAdvanced
    from sandbox.verdicts.report import shown

    moved: list[ClockAdvanced] = []

    async def work(url: str) -> int:
        from uuid import uuid4

        body = {"seconds": args.seconds} if args.until is None else {"until": args.until}
        async with answers.client(url, args.key) as http:
            answer = await answers.fetch(http, "POST", "/sandbox/clock/advance", json=body,
                                         headers={"X-Idempotency-Key": uuid4().hex})
        moved.append(answers.decoded(answer, 200, ClockAdvanced))
        return 0

    status = _run(args, work, refused=1)
    if not moved:
        return status
    [done] = moved
    if args.json:
        sys.stdout.write(msgspec.json.encode(done).decode() + "\n")
        return 0
    say(f"clock at {shown(done.time)}, {done.steps_applied} step(s) applied" + (", idle" if done.idle else ""))
    for t in done.transitions:
        say(f"  {shown(t.at)}  {shown(t.payout_id)}  {shown(t.from_status)} → {shown(t.to_status)}")
    return 0


# --- the parsers ---------------------------------------------------------------------


def _noun_verb(sub, noun: str, verb: str, said: str, description: str) -> argparse.ArgumentParser:
    """`sandbox NOUN VERB`: the one verb of a noun so far, named in the noun's help."""
    nouns = sub.add_parser(noun, help=f"{said} (sandbox {noun} {verb})")
    verbs = nouns.add_subparsers(dest=f"{noun}_command", required=True, metavar="SUBCOMMAND")
    return verbs.add_parser(verb, help=said, description=description)


def add_commands(sub) -> None:
    gate = sub.add_parser(
        "gate", help="judge merchants' integrations after a CI run: coverage, safe retries, the receiver audit; "
                     "exit 0 held, 1 fell short, 2 could not judge",
        description="Judge one or more merchants on a running sandbox, each on its own (the sandbox's POST "
                    "/api/v1/sandbox/gate judges; this asks it). Exit 0 when every requirement held, 1 when one "
                    "fell short, 2 when it could not judge: the sandbox unreachable, a key refused, nothing or an "
                    "unknown name required, an answer that is not the API's (never 1 for those).")
    gate.add_argument("--key", action="append", metavar="KEY", type=_key,
                      help="a merchant's API key (repeatable; SANDBOX_GATE_KEYS adds comma-separated ones)")
    add_url(gate)
    gate.add_argument("--require-coverage", metavar="all|NAME,...",
                      help=f"the merchant's payouts reached the end of these scenarios or took these operator "
                           f"paths ({', '.join(OPERATOR_PATHS)}); {EVERY_SCENARIO}: {EVERY_SCENARIO_MEANS}")
    gate.add_argument("--require-safe-retries", action="store_true",
                      help=SAFE_RETRIES_MEANS)
    gate.add_argument("--audit-endpoint", metavar="ID", type=_endpoint,
                      help="run the receiver audit of this webhook endpoint (we_…) of one of the merchants")
    gate.add_argument("--junit", metavar="FILE", help="write the verdict as JUnit XML (a testsuite per merchant)")
    gate.add_argument("--json", metavar="FILE", help="write the verdict as JSON (the API's answer)")
    _add_timeout(gate)
    gate.set_defaults(func=cmd_gate)

    new = _noun_verb(sub, "merchant", "new", "a fresh isolated merchant: print its id and API key",
                     "Make a fresh merchant on a running sandbox (admin key needed) and print its id and API "
                     "key; one per CI job keeps jobs apart.")
    new.add_argument("--balance", default="1000000.00", help="opening balance in PKR (default 1000000.00)")
    new.add_argument("--clock", choices=("live", "manual"),
                     help="manual: its payouts move only on `sandbox clock advance` (default live)")
    new.add_argument("--json", action="store_true",
                     help='print {"id", "api_key", "clock", "balance", "url"} as one JSON object')
    new.add_argument("--wait", type=_timeout, metavar="SECONDS",
                     help="first wait up to this long for /api/v1/ready to answer 200 (every part of the "
                          "sandbox serving), e.g. right after starting it")
    new.add_argument("--admin-key", type=_key, help="default: SANDBOX_ADMIN_KEY, else the admin-key file "
                                                    "`sandbox up` wrote in SANDBOX_DATA_DIR (.sandbox)")
    add_url(new)
    _add_timeout(new)
    new.set_defaults(func=cmd_merchant_new)

    adv = _noun_verb(sub, "clock", "advance", "move a merchant's manual clock and apply what falls due",
                     "Move a merchant's manual clock; answers once every step that fell due is applied, "
                     "listing the status changes.")
    adv.add_argument("--key", required=True, type=_key, help="the merchant's API key")
    how = adv.add_mutually_exclusive_group(required=True)
    how.add_argument("--seconds", type=_seconds, help="move the clock this many seconds")
    how.add_argument("--until", choices=("idle",), help="idle: from due step to due step until none is left")
    adv.add_argument("--json", action="store_true", help="print the sandbox's answer as JSON")
    add_url(adv)
    _add_timeout(adv)
    adv.set_defaults(func=cmd_clock_advance)
