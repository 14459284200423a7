"""The `sandbox` command: `up` runs the whole sandbox on one machine; `api`, `worker`
and `ipn` run one process against the servers named by SANDBOX_DATABASE_URL and
SANDBOX_REDIS_URL; `migrate`, `seed` and `openapi` are the one-off steps.

Heavy imports live inside the commands so `sandbox --help` stays quick."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from sandbox import up
from sandbox.serving import serve
from sandbox.settings import INSTALL_ROOT, get_settings
from sandbox.up import fail, local_url, say


def cmd_up(args: argparse.Namespace) -> int:
    return up.run(args)


# --- one process or one step against external servers ------------------------------


def cmd_api(args: argparse.Namespace) -> int:
    settings = get_settings()
    return serve("sandbox.app:create_served_app", settings.api_port, settings.api_workers)


def cmd_ipn(args: argparse.Namespace) -> int:
    return serve("ipn.app:create_app", get_settings().ipn_port)


def cmd_worker(args: argparse.Namespace) -> int:
    from worker.main import check, run

    if args.check:
        return check()
    run()
    return 0


def _database_url() -> str:
    url = get_settings().database_url
    if not url:
        raise SystemExit(fail("SANDBOX_DATABASE_URL is not set (`sandbox up` runs an embedded server)", 2))
    return url


async def _with_db(database_url: str, step):
    from sandbox import db

    async with db.running(database_url):
        return await step()


def cmd_migrate(args: argparse.Namespace) -> int:
    from sandbox import db

    asyncio.run(_with_db(_database_url(), db.migrate))
    say("migrations applied")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from seeds.seed import seed

    report = asyncio.run(_with_db(_database_url(), lambda: seed(get_settings().admin_key)))
    for merchant_id, name, key in report.merchants:
        say(f"merchant  {merchant_id}  {name}  {key}")
    say(f"admin key {report.admin_key or '(exists already; not shown)'}")
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from sandbox import template

    say(f"start-up template: {template.ensure(get_settings().cache_dir)}")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from sandbox import openapi_export

    if args.output == "-":
        sys.stdout.write(openapi_export.render())
    else:
        say(f"wrote {openapi_export.write(Path(args.output or openapi_export.SPEC_PATH))}")
    return 0


def cmd_make_batch(args: argparse.Namespace) -> int:
    from sandbox.batches import sample

    per_scenario = sample.write(Path(args.out), args.rows)
    say(f"wrote {args.rows} payouts to {args.out}: " + ", ".join(f"{k} {v}" for k, v in per_scenario.items()))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from sandbox.bench.run import main as bench_main

    return bench_main(args)


URL_DEFAULT_SAYS = "http://127.0.0.1:$SANDBOX_API_PORT"


def default_url() -> str:
    """The one default of every command's --url: this machine's sandbox on SANDBOX_API_PORT
    (8000 unless set), as `sandbox up` prints it."""
    return local_url(get_settings(), get_settings().api_port)


def _add_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=default_url(),
                        help=f"the sandbox (default {URL_DEFAULT_SAYS}, here {default_url()})")


def _cannot_reach(url: str, exc: Exception) -> str:
    said = "" if url != default_url() else f" (the default, {URL_DEFAULT_SAYS}; another sandbox: --url)"
    return f"cannot reach {url}{said}: {exc}"


def _api_command(cannot_judge: int):
    """For the commands that talk to a running sandbox: whatever goes wrong on the way (an
    answer that refuses, a sandbox that cannot be reached, a key it does not know) ends in
    one line on stderr and status `cannot_judge`, never a traceback.
    httpx's own line per request is silenced: these commands print what matters."""

    def wrap(command):
        def run(args: argparse.Namespace) -> int:
            import logging

            import httpx
            import msgspec

            from sandbox.testing.client import Refused
            from sandbox.testing.judging import CannotJudge

            logging.getLogger("httpx").setLevel(logging.WARNING)
            try:
                return command(args)
            except (Refused, CannotJudge) as exc:
                return fail(str(exc), cannot_judge)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                return fail(_cannot_reach(args.url, exc), cannot_judge)
            except msgspec.ValidationError as exc:
                return fail(f"{args.url} answered JSON that is not MyPay Sandbox's ({exc}): is this its API?",
                            cannot_judge)
            except KeyboardInterrupt:
                return fail("interrupted", 130)

        return run

    return wrap


_talks_to_the_api = _api_command(1)


@_talks_to_the_api
def cmd_coverage(args: argparse.Namespace) -> int:
    from sandbox.coverage.report import render
    from sandbox.testing.client import api_client, expect

    with api_client(args.url, args.key) as client:
        sys.stdout.write(render(expect(client.get("/sandbox/coverage"), 200)))
    return 0


@_talks_to_the_api
def cmd_audit_webhooks(args: argparse.Namespace) -> int:
    """Exit 0 when every case passed, 1 when one failed, 2 when the audit could not run."""
    from sandbox.testing.audit import run_cli
    from seeds.seed import DEMO_MERCHANTS

    return run_cli(args.url, args.key or DEMO_MERCHANTS[0][2], args.endpoint, args.junit)


@_talks_to_the_api
def cmd_trigger(args: argparse.Namespace) -> int:
    from sandbox.testing import trigger
    from seeds.seed import DEMO_MERCHANTS

    if not args.list and not args.scenario:
        return fail("name a scenario, or --list them", 2)
    key = args.key or DEMO_MERCHANTS[0][2]
    return trigger.main(args.url, key, None if args.list else args.scenario, args.amount, args.timeout)


@_api_command(cannot_judge=2)
def cmd_gate(args: argparse.Namespace) -> int:
    """Exit 0 when every requirement held, 1 when one fell short, 2 when it could not judge."""
    from sandbox.testing.judging import judge_keys
    from sandbox.verdicts import report

    keys = list(args.key or []) + [k.strip() for k in (get_settings().gate_keys or "").split(",") if k.strip()]
    if not keys:
        return fail("no merchant key to judge: --key KEY (repeatable), or SANDBOX_GATE_KEYS", 2)
    if not (args.require_coverage or args.require_safe_retries or args.audit_endpoint):
        return fail("nothing to judge: --require-coverage, --require-safe-retries and/or --audit-endpoint", 2)
    verdict = judge_keys(args.url, list(dict.fromkeys(keys)), args.require_coverage, args.require_safe_retries,
                         args.audit_endpoint)
    for path, content in ((args.junit, report.junit), (args.json, report.as_json)):
        if path:
            try:
                report.write(path, content(verdict))
            except OSError as exc:
                return fail(f"cannot write {path}: {exc.strerror}", 2)
            say(f"wrote {path}")
    sys.stdout.write(report.words(verdict))  # the verdict last, where a CI log is read
    return 0 if verdict.held else 1


def _admin_key(args: argparse.Namespace) -> str | None:
    """--admin-key, else SANDBOX_ADMIN_KEY, else the one `sandbox up` saved in its data dir."""
    if args.admin_key or get_settings().admin_key:
        return args.admin_key or get_settings().admin_key
    saved = get_settings().data_dir / up.ADMIN_KEY_FILE
    return saved.read_text().strip() if saved.is_file() else None


@_talks_to_the_api
def cmd_merchant_new(args: argparse.Namespace) -> int:
    import json

    from sandbox.testing.client import MypaySandbox

    admin_key = _admin_key(args)
    if admin_key is None:
        saved = (get_settings().data_dir / up.ADMIN_KEY_FILE).resolve()
        return fail(f"no admin key: --admin-key, SANDBOX_ADMIN_KEY, or the file {saved} that `sandbox up` writes "
                    "(SANDBOX_DATA_DIR names its folder)")
    sandbox = MypaySandbox(args.url, admin_key)
    try:
        merchant = sandbox.new_merchant(clock=args.clock, opening_balance=args.balance, made_by="cli")
        merchant.close()
    finally:
        sandbox.close()
    made = {"id": merchant.id, "api_key": merchant.key, "clock": args.clock or "live",
            "balance": args.balance, "url": sandbox.url}
    if args.json:
        sys.stdout.write(json.dumps(made) + "\n")
    else:
        sys.stdout.write("".join(f"{k:<8} {v}\n" for k, v in made.items()))
    return 0


@_talks_to_the_api
def cmd_clock_advance(args: argparse.Namespace) -> int:
    import json

    from sandbox.testing.client import advance, api_client

    with api_client(args.url, args.key) as client:
        moved = advance(client, args.seconds, args.until)
    if args.json:
        sys.stdout.write(json.dumps(moved) + "\n")
        return 0
    say(f"clock at {moved['time']}, {moved['steps_applied']} step(s) applied" + (", idle" if moved["idle"] else ""))
    for t in moved["transitions"]:
        say(f"  {t['at']}  {t['payout_id']}  {t['from']} → {t['to']}")
    return 0


def _noun_verb(sub, noun: str, verb: str, said: str, description: str) -> argparse.ArgumentParser:
    """`sandbox NOUN VERB`: the one verb of a noun so far, named in the noun's help."""
    nouns = sub.add_parser(noun, help=f"{said} (sandbox {noun} {verb})")
    verbs = nouns.add_subparsers(dest=f"{noun}_command", required=True, metavar="SUBCOMMAND")
    return verbs.add_parser(verb, help=said, description=description)


def _add_gate_commands(sub) -> None:
    gate = sub.add_parser(
        "gate", help="judge merchants' integrations after a CI run: coverage, safe retries, the receiver audit; "
                     "exit 0 held, 1 fell short, 2 could not judge",
        description="Judge one or more merchants on a running sandbox, each on its own. Exit 0 when every "
                    "requirement held, 1 when one fell short, 2 when the sandbox could not be reached or a key "
                    "was refused (never 1 for those).")
    gate.add_argument("--key", action="append", metavar="KEY",
                      help="a merchant's API key (repeatable; SANDBOX_GATE_KEYS adds comma-separated ones)")
    _add_url(gate)
    gate.add_argument("--require-coverage", metavar="all|NAME,...",
                      help="the merchant's payouts reached the end of these scenarios (all: every one in the "
                           "table) or took these operator paths (simulate, reinitiate, cancel, approve, reject, "
                           "release)")
    gate.add_argument("--require-safe-retries", action="store_true",
                      help="a fault after commit was recovered, and no payout was made twice after one")
    gate.add_argument("--audit-endpoint", metavar="ID",
                      help="run the receiver audit of this webhook endpoint (we_…) of one of the merchants")
    gate.add_argument("--junit", metavar="FILE", help="write the verdict as JUnit XML (a testsuite per merchant)")
    gate.add_argument("--json", metavar="FILE", help="write the verdict as JSON")
    gate.set_defaults(func=cmd_gate)

    new = _noun_verb(sub, "merchant", "new", "a fresh isolated merchant: print its id and API key",
                     "Make a fresh merchant on a running sandbox (admin key needed) and print its id and API "
                     "key; one per CI job keeps jobs apart.")
    new.add_argument("--balance", default="1000000.00", help="opening balance in PKR (default 1000000.00)")
    new.add_argument("--clock", choices=("live", "manual"),
                     help="manual: its payouts move only on `sandbox clock advance` (default live)")
    new.add_argument("--json", action="store_true",
                     help='print {"id", "api_key", "clock", "balance", "url"} as one JSON object')
    new.add_argument("--admin-key", help="default: SANDBOX_ADMIN_KEY, else the admin-key file `sandbox up` "
                                         "wrote in SANDBOX_DATA_DIR (.sandbox)")
    _add_url(new)
    new.set_defaults(func=cmd_merchant_new)

    adv = _noun_verb(sub, "clock", "advance", "move a merchant's manual clock and apply what falls due",
                     "Move a merchant's manual clock; answers once every step that fell due is applied, "
                     "listing the status changes.")
    adv.add_argument("--key", required=True, help="the merchant's API key")
    how = adv.add_mutually_exclusive_group(required=True)
    how.add_argument("--seconds", type=float, help="move the clock this many seconds")
    how.add_argument("--until", choices=("idle",), help="idle: from due step to due step until none is left")
    adv.add_argument("--json", action="store_true", help="print the sandbox's answer as JSON")
    _add_url(adv)
    adv.set_defaults(func=cmd_clock_advance)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sandbox", description="MyPay Sandbox, a mock payout PSP.")
    from sandbox import version

    parser.add_argument("--version", action="version", version=f"%(prog)s {version.of()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = sub.add_parser("up", help="run everything here (embedded PostgreSQL/Redis unless URLs are set)")
    up.add_argument("--fresh", action="store_true", help="delete the data dir first (stopping its servers)")
    up.add_argument("--api-workers", type=int, metavar="N",
                    help="API processes behind the API port (default: SANDBOX_API_WORKERS, else one per core, "
                         "at most 4)")
    up.set_defaults(func=cmd_up)
    sub.add_parser("api", help="run the API (uvicorn) on SANDBOX_API_PORT").set_defaults(func=cmd_api)
    worker = sub.add_parser("worker", help="run one arq worker (payout steps, rail callbacks, sweeper)")
    worker.add_argument("--check", action="store_true",
                        help="exit 0 if a worker reported healthy recently (arq's health check), else 1")
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("ipn", help="run the IPN service on SANDBOX_IPN_PORT").set_defaults(func=cmd_ipn)
    sub.add_parser("migrate", help="apply migrations to SANDBOX_DATABASE_URL").set_defaults(func=cmd_migrate)
    sub.add_parser("seed", help="seed SANDBOX_DATABASE_URL (idempotent)").set_defaults(func=cmd_seed)
    sub.add_parser("template", help="make the template every fresh `sandbox up` data dir is copied from "
                                    "(the first `up` makes it otherwise; an image makes it at build time)"
                   ).set_defaults(func=cmd_template)
    spec = sub.add_parser("openapi", help="write the OpenAPI spec as JSON")
    spec.add_argument("--output", "-o", help="file, or - for stdout (default: the repo's openapi/openapi.json)")
    spec.set_defaults(func=cmd_openapi)
    batch = sub.add_parser("make-batch", help="write a payout batch CSV that mixes every scenario")
    batch.add_argument("--rows", type=int, default=1000, help="payouts in the file (default 1000)")
    batch.add_argument("--out", required=True, help="the CSV file to write")
    batch.set_defaults(func=cmd_make_batch)
    coverage = sub.add_parser("coverage", help="print what a merchant's integration has been tested against")
    coverage.add_argument("--key", required=True, help="the merchant's API key")
    _add_url(coverage)
    coverage.set_defaults(func=cmd_coverage)
    trigger = sub.add_parser("trigger", help="make a payout follow a scenario and print each transition and webhook")
    trigger.add_argument("scenario", nargs="?", help="a scenario name (see --list)")
    trigger.add_argument("--list", action="store_true", help="print the scenarios and exit")
    trigger.add_argument("--key", help="a merchant's API key (default: the seeded Demo Merchant Alpha's)")
    _add_url(trigger)
    trigger.add_argument("--amount", default="1500.00", help="PKR (default 1500.00; 100000.00 or more waits in_review)")
    trigger.add_argument("--timeout", type=float, default=120.0, help="seconds to follow it (default 120)")
    trigger.set_defaults(func=cmd_trigger)
    audit = sub.add_parser("audit-webhooks", help="send a webhook endpoint the receiver audit's signed battery; "
                                                  "print the scorecard; exit 1 if a case failed, "
                                                  "2 if the audit could not run (sandbox unreachable, key refused)")
    audit.add_argument("--endpoint", required=True, help="the webhook endpoint's id (we_…)")
    audit.add_argument("--key", help="the merchant's API key (default: the seeded Demo Merchant Alpha's)")
    _add_url(audit)
    audit.add_argument("--junit", metavar="FILE", help="also write the audit as JUnit XML to FILE")
    audit.set_defaults(func=cmd_audit_webhooks)
    _add_gate_commands(sub)
    bench = sub.add_parser(
        "bench", help="start the stack on a fresh data dir, drive it with wrk and pgbench, print figures")
    # Options are added by sandbox.bench.run.add_arguments, next to the code that reads them.
    from sandbox.bench.run import add_arguments as add_bench_arguments

    add_bench_arguments(bench)
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    import logging

    # This process imports only this installation as well (the processes it starts do,
    # see settings.child_env): a PYTHONPATH, or `python -m`'s working directory, may name
    # a project with `seeds`, `worker` or `ipn` packages of its own, ahead of ours.
    if sys.path[:1] != [str(INSTALL_ROOT)]:
        sys.path.insert(0, str(INSTALL_ROOT))
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=get_settings().log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    # Piccolo logs a guessed server version at INFO before it has connected anywhere.
    logging.getLogger("piccolo").setLevel(logging.WARNING)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
