"""The `sandbox` command: `up` runs the whole sandbox on one machine; `api`, `worker`
and `ipn` run one process against the servers named by SANDBOX_DATABASE_URL and
SANDBOX_REDIS_URL; `migrate`, `seed` and `openapi` are the one-off steps.

Heavy imports live inside the commands so `sandbox --help` stays quick."""

# ruff: noqa: E402 - the imports come after the line that lets them be cached
from __future__ import annotations

import sys

# Python's bytecode cache is written even where PYTHONDONTWRITEBYTECODE is set (CI images
# and containers often set it): without it every `sandbox` process compiled each module it
# imports again, every time, which was most of `sandbox up`'s start (docs/benchmark.md).
# Where the files cannot be written (a read-only install) Python skips it, as always.
sys.dont_write_bytecode = False

from sandbox import runtime

if _why := runtime.unsupported():  # Windows: said in words, before the POSIX imports below fail
    print(_why, file=sys.stderr)
    raise SystemExit(2)

import argparse
import asyncio
from pathlib import Path

from sandbox import ci_commands
from sandbox.ci_commands import add_url as _add_url
from sandbox.ci_commands import cannot_reach as _cannot_reach
from sandbox.runtime import up
from sandbox.runtime.forking import name_process
from sandbox.runtime.serving import serve
from sandbox.runtime.up import fail, say
from sandbox.settings import INSTALL_ROOT, SettingError, get_settings


def cmd_up(args: argparse.Namespace) -> int:
    return up.run(args, run_forked)


def run_forked(argv: list[str]) -> int:
    """`sandbox api`, `ipn` or `worker` in a process `up` forked from itself: `up`'s own
    `main` has set this interpreter up (import path, logging), and these commands take no
    argument, so the parser is not built again (25 ms of each child's start)."""
    (command,) = argv
    run = {"api": cmd_api, "ipn": cmd_ipn, "worker": cmd_worker}[command]
    return run(argparse.Namespace(command=command, check=False, alive=False))


# --- one process or one step against external servers ------------------------------


def cmd_api(args: argparse.Namespace) -> int:
    name_process("api")
    settings = get_settings()
    return serve("sandbox.api.app:create_served_app", settings.api_port, settings.api_workers)


def cmd_ipn(args: argparse.Namespace) -> int:
    name_process("ipn")
    return serve("ipn.app:create_app", get_settings().ipn_port)


def cmd_worker(args: argparse.Namespace) -> int:
    from worker.main import alive, check, run

    if args.check:
        return check()
    if args.alive:
        return alive()
    name_process("worker")
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

    if args.wait is not None:
        return _wait_migrated(_database_url(), args.wait)
    asyncio.run(_with_db(_database_url(), db.migrate))
    say("migrations applied")
    return 0


def _wait_migrated(database_url: str, seconds: float) -> int:
    """`sandbox migrate --wait S`: apply nothing; exit 0 once the database holds every
    migration of this installation (another process's `sandbox migrate` ran them: a
    Kubernetes release's migration Job), 1 after S seconds naming what is still pending.
    A database that does not answer yet is asked again until then."""
    import time

    import asyncpg

    from sandbox import db

    deadline, said = time.monotonic() + seconds, ""
    while True:
        try:
            pending = asyncio.run(_with_db(database_url, db.pending_migrations))
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:  # not up yet: ask again
            pending, said = None, f"the database does not answer ({type(exc).__name__}: {exc})"
        if pending == []:
            say("migrations: the database holds every one of this release")
            return 0
        if pending:
            said = f"{len(pending)} migrations not yet run (first {pending[0]})"
        if time.monotonic() > deadline:
            return fail(f"migrations: after {seconds:.0f}s, {said}", 1)
        time.sleep(1.0)


def cmd_seed(args: argparse.Namespace) -> int:
    """What it did, with every key as a fingerprint (`sk_admin_…3f9a`): its output is a log
    (a migration Job's, a compose service's) that operators read and share."""
    from sandbox import db
    from sandbox.auth import cache as auth_cache
    from sandbox.guards.fingerprints import fingerprint
    from seeds.seed import seed

    given = get_settings().admin_key

    async def locked_seed():
        async with db.migration_lock():  # seeds started at once (init containers) take turns
            # A key made here could be shown only in this log: with none given, none is made.
            report = await seed(given, make_admin_key=False)
        if report.admin_keys_revoked or report.demo_merchants_removed:
            # Revoked keys: refused by every API process before this command exits.
            if not await auth_cache.forgotten_everywhere(_database_url()):
                say("(not every API process confirmed it forgot the revoked keys; each does when notified)")
        return report

    report = asyncio.run(_with_db(_database_url(), locked_seed))
    for merchant_id, name, key in report.merchants:
        say(f"merchant  {merchant_id}  {name}  {fingerprint(key)}")
    for merchant_id in report.demo_merchants_removed:
        say(f"merchant  {merchant_id}  removed: SANDBOX_DEMO_MERCHANTS is false")
    if report.admin_key:
        say(f"admin key {fingerprint(report.admin_key)} (SANDBOX_ADMIN_KEY) is the operator's key"
            + (f"; {report.admin_keys_revoked} older operator key(s) revoked" if report.admin_keys_revoked else ""))
    else:
        say("admin key none given: set SANDBOX_ADMIN_KEY (e.g. sk_admin_ and 48 hex digits) and seed again "
            "to make it the operator's key")
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    if args.write_schema:
        from sandbox.runtime.template import schema_made_by_the_migrations
        from sandbox.sql import schema

        schema.SCHEMA.write_text(schema_made_by_the_migrations())
        say(f"the migrations' result, dumped: {schema.SCHEMA}")
        return 0
    from sandbox.runtime import template

    say(f"start-up template: {template.ensure(get_settings().cache_dir)}")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from sandbox.api import openapi_export

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


def _api_command(cannot_judge: int):
    """For the commands that talk to a running sandbox: whatever goes wrong on the way (an
    answer that refuses, a sandbox that cannot be reached, a key it does not know) ends in
    one line on stderr and status `cannot_judge`, never a traceback.
    httpx's own line per request is silenced: these commands print what matters.
    (`merchant new`, `clock advance` and `gate` read their answers more strictly:
    sandbox/ci_commands.py.)"""

    def wrap(command):
        def run(args: argparse.Namespace) -> int:
            import logging

            import httpx
            import msgspec

            from sandbox.client.blocking import Refused

            logging.getLogger("httpx").setLevel(logging.WARNING)
            try:
                ci_commands.url_of(args)
                return command(args)
            except SettingError as exc:
                return fail(str(exc), 2)
            except Refused as exc:
                return fail(str(exc), cannot_judge)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                return fail(_cannot_reach(args.url, str(exc)), cannot_judge)
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
    from sandbox.client.blocking import api_client, expect
    from sandbox.coverage.report import render

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
    worker.add_argument("--alive", action="store_true",
                        help="exit 0 if this worker's poll loop touched SANDBOX_WORKER_ALIVE_FILE recently, else 1")
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("ipn", help="run the IPN service on SANDBOX_IPN_PORT").set_defaults(func=cmd_ipn)
    migrate = sub.add_parser("migrate", help="apply migrations to SANDBOX_DATABASE_URL")
    migrate.add_argument("--wait", type=float, metavar="SECONDS",
                         help="apply nothing: wait until another process has applied every migration of this "
                              "release (exit 0), at most SECONDS (exit 1)")
    migrate.set_defaults(func=cmd_migrate)
    sub.add_parser("seed", help="seed SANDBOX_DATABASE_URL (idempotent)").set_defaults(func=cmd_seed)
    made = sub.add_parser("template", help="make the template every fresh `sandbox up` data dir is copied from "
                                           "(the first `up` makes it otherwise; an image makes it at build time)")
    made.add_argument("--write-schema", action="store_true",
                      help="instead: write sandbox/sql/schema.sql, the migrations' result a new cluster applies "
                           "in one step (after adding a migration; a test says when it is stale)")
    made.set_defaults(func=cmd_template)
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
    ci_commands.add_commands(sub)  # merchant new, clock advance, gate
    from sandbox.processes.status import add_command as add_status_command

    add_status_command(sub)
    from sandbox.client.stream_commands import add_commands as add_stream_commands  # listen, logs tail

    add_stream_commands(sub, _add_url, ci_commands.url_of)
    from sandbox.pact.verify import add_command as add_pact_command

    add_pact_command(sub, _add_url, ci_commands.admin_key_of)
    from sandbox.mcp.command import add_command as add_mcp_command  # imports no part of the SDK

    add_mcp_command(sub, _add_url, ci_commands.admin_key_of)
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
    from sandbox.observability import log_copy

    log_copy.start(args.command)  # the test suite's copy of what this process writes, if it asked
    try:
        log_level = get_settings().log_level.upper()
    except SettingError as exc:  # a variable that does not hold its setting: said in one line
        return fail(str(exc), 2)
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    # Piccolo logs a guessed server version at INFO before it has connected anywhere.
    logging.getLogger("piccolo").setLevel(logging.WARNING)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
