"""`sandbox pact verify PACT_FILE_OR_DIR...`: pact-python's Verifier (the Rust core every
Pact language shares) replays each pact against a running sandbox, with the provider
state and message URLs filled in and the admin key sent as X-Sandbox-Admin-Key.

Before the verifier runs, every interaction's provider states and every message are
checked by the sandbox (`"action": "check"`, `"check": true`: judged, nothing made), so a
refusal is known in the sandbox's own words (the param at fault, the known states, what
to use instead): the verifier itself keeps only "Invalid status code: 400" of a refused
state, and of a refused message only that its body could not be read. A refused
interaction is failed, its words in the terminal, --json and --junit alike. What each
interaction's outcome is, and the exit code, is verdict.py's.

Exit 0: every interaction verified (or pending and failed, without --fail-pending); 1:
the pact asks for something the sandbox does not do (each failure printed in the
verifier's words, or the sandbox's); 2: it could not verify (pact-python missing, the
sandbox unreachable, the admin key refused, a pact unreadable, with no interactions, or
one the verifier could not load). pact-python is the optional extra
`mypay-sandbox[pact]`; it is imported only when the command runs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from sandbox.pact import shapes
from sandbox.pact.verdict import OUTCOMES, FileVerdict, RunVerdict, judge, listed, not_judged

STATES_PATH = "/api/v1/sandbox/pact/states"
MESSAGES_PATH = "/api/v1/sandbox/pact/messages"
ADMIN_KEY_HEADER = "X-Sandbox-Admin-Key"


class CannotVerify(Exception):
    """Exit 2: nothing was verified, and why."""


def pact_files(given: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in given:
        path = Path(name)
        if path.is_dir():
            found = sorted(path.glob("*.json"))
            if not found:
                raise CannotVerify(f"{name}: a folder with no pact (*.json) in it")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise CannotVerify(f"{name}: no such file or folder")
    return files


def read_pact(path: Path) -> dict:
    """The pact in a file; an unreadable file, JSON that is no pact, or a pact with no
    interaction to verify (which would verify as nothing failed) is refused."""
    try:
        pact = json.loads(path.read_text())
        name = pact["provider"]["name"]
        lists = [pact[k] for k in ("interactions", "messages") if k in pact]
        if not isinstance(name, str) or not lists or not all(isinstance(each, list) for each in lists):
            raise TypeError
    except OSError as exc:
        raise CannotVerify(f"{path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise CannotVerify(f"{path}: not JSON ({exc})") from None
    except (KeyError, TypeError):
        raise CannotVerify(f"{path}: not a pact (no provider name, or no interactions)") from None
    interactions = listed(pact)
    if not interactions:
        raise CannotVerify(f"{path}: a pact with no interactions; nothing to verify")
    for place, interaction in enumerate(interactions):
        description = interaction.get("description")
        if not isinstance(description, str) or not description:
            raise CannotVerify(f"{path}: interaction {place} has no description; the Pact specification requires "
                               "one, and the verifier's results name each interaction by it")
    return pact


def provider_of(path: Path) -> str:
    return read_pact(path)["provider"]["name"]


def _is_message(interaction: dict) -> bool:
    kind = interaction.get("type")
    return kind in ("Asynchronous/Messages", "Synchronous/Messages") or (kind is None and "request" not in interaction)


def _states(interaction: dict) -> list[dict]:
    states = interaction.get("providerStates")
    if isinstance(states, list):
        return [s for s in states if isinstance(s, dict)]
    single = interaction.get("providerState")  # V2
    return [{"name": single}] if isinstance(single, str) and single else []


def _problem(response) -> tuple[int, str]:
    """A refusal's words. Read as raw bytes: the messages route's refusal is sent
    undecodable on purpose (sandbox/pact/messages.py, REFUSAL_HEADERS)."""
    raw = b"".join(response.iter_raw())
    try:
        problem = json.loads(raw)
        return response.status_code, str(problem.get("detail") or problem.get("title"))
    except (ValueError, AttributeError):
        return response.status_code, raw.decode(errors="replace")[:500]


def admitted(url: str, admin_key: str) -> None:
    """The admin key opens the Pact routes; else nothing would verify (exit 2, in words)."""
    import httpx

    with httpx.Client(timeout=30) as client, client.stream(
            "POST", url.rstrip("/") + STATES_PATH, json={"state": "", "action": "check"},
            headers={ADMIN_KEY_HEADER: admin_key}) as r:
        if r.status_code != 200:
            status, said = _problem(r)
            raise CannotVerify(f"the sandbox at {url} refused the admin key ({status}: {said})")


def refusals(url: str, admin_key: str, pact: dict) -> dict[int, list[str]]:
    """What the sandbox refuses of each interaction (by its place in the file), asked
    before the verifier runs: each state and each message checked, nothing made."""
    import httpx

    refused: dict[int, list[str]] = {}
    with httpx.Client(base_url=url.rstrip("/"), timeout=30, headers={ADMIN_KEY_HEADER: admin_key}) as client:
        for place, interaction in enumerate(listed(pact)):
            description = str(interaction.get("description", ""))
            states = _states(interaction)
            if _is_message(interaction):
                asks = [(MESSAGES_PATH, {"description": description, "providerStates": [
                    {"name": s.get("name", ""), "params": s.get("params") or {}} for s in states], "check": True})]
            else:
                asks = [(STATES_PATH, {"state": s.get("name", ""), "params": s.get("params") or {},
                                       "action": "check"}) for s in states]
            for path, body in asks:
                with client.stream("POST", path, json=body) as r:
                    if r.status_code != 200:
                        status, said = _problem(r)
                        refused.setdefault(place, []).append(f"{status}: {said}")
    return refused


def _ready(url: str) -> None:
    import httpx

    try:
        r = httpx.get(url.rstrip("/") + "/api/v1/ready", timeout=10)
    except httpx.HTTPError as exc:
        raise CannotVerify(f"cannot reach the sandbox at {url}: {exc}") from None
    if r.status_code != 200:
        raise CannotVerify(f"the sandbox at {url} is not ready ({r.status_code} from /api/v1/ready)")


def verify_one(path: Path, url: str, admin_key: str) -> dict:
    """Replay one pact file; the verifier's results (its `result`, `errors`, `output`)."""
    from pact import Verifier

    base = urlsplit(url)
    host, port, scheme = base.hostname or "127.0.0.1", base.port, base.scheme or "http"
    port = port or (443 if scheme == "https" else 80)
    verifier = (
        Verifier(provider_of(path), host=host)
        .add_transport(url=f"{scheme}://{host}:{port}/")
        # Message interactions are POSTed here (Pact's message-producer protocol).
        .add_transport(protocol="message", port=port, path=MESSAGES_PATH, scheme=scheme)
        .state_handler(f"{scheme}://{host}:{port}{STATES_PATH}", teardown=True, body=True)
        .add_custom_header(ADMIN_KEY_HEADER, admin_key)
        .set_coloured_output(enabled=sys.stdout.isatty())
        .add_source(path)
    )
    try:
        verifier.verify()
    except RuntimeError:
        pass  # a failed verification raises; the results below say what failed
    sys.stdout.flush()  # the verifier printed each interaction, and each mismatch in words
    return verifier.results


def junit(verdict: RunVerdict) -> str:
    """A test case per interaction in the files: a failure (refused, failed) or, for a
    pending one that failed, skipped (a failure with --fail-pending), each with its words;
    a file that could not be loaded is an error case of its own, naming why."""
    from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

    xml = JUnitXml()
    for judged_file in verdict.files:
        suite = TestSuite(judged_file.pact)
        if judged_file.unloadable:
            case = TestCase("(loading the pact)", classname=judged_file.pact)
            case.result = [Error(f"the pact could not be loaded: {judged_file.unloadable}"[:4000])]
            suite.add_testcase(case)
        if judged_file.not_modelled:
            case = TestCase("(the pact's shape)", classname=judged_file.pact)
            case.result = [Error(f"not judged: the pact's shape is not modelled: {judged_file.not_modelled}"[:4000])]
            suite.add_testcase(case)
        for judged in judged_file.interactions:
            case = TestCase(judged.description, classname=judged_file.pact)
            said = "\n".join(judged.words)[:4000]
            if judged.outcome == "pending":
                said = f"pending, failed: {said}"
                case.result = [Failure(said) if verdict.fail_pending else Skipped(said)]
            elif judged.outcome != "verified":
                case.result = [Failure(said)]
            suite.add_testcase(case)
        xml.add_testsuite(suite)
    return xml.tostring().decode()


def as_json(judged_file: FileVerdict, results: dict | None, refused: dict[int, list[str]], log: list[str],
            version: str | None) -> dict:
    # What the sandbox models of a pact of this version, and how provider states compose,
    # beside why this file's shape is not modelled (null when it is).
    modelled = {"specification": version, "shapes": shapes.MODELLED.get(version or "", "none: " + ", ".join(
        f"V{v}" for v in shapes.VERSIONS) + " are modelled"), "providerStates": shapes.STATE_RULE}
    return {"pact": judged_file.pact, "unloadable": judged_file.unloadable, "notModelled": judged_file.not_modelled,
            "modelled": modelled,
            "counts": {o: judged_file.count(o) for o in OUTCOMES},
            "interactions": [{"description": j.description, "outcome": j.outcome, "words": j.words}
                             for j in judged_file.interactions],
            "refused": {str(k): v for k, v in refused.items()}, "verifier": results, "verifierLog": log}


class _Kept(logging.Handler):
    """The Pact core's own log lines (ERROR `Invalid status code: 400` of a refused state,
    WARNING of an interaction it ignores), kept for --json instead of printed: each says
    again, in fewer words, what the verdict says of its interaction."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


def run(args: argparse.Namespace, admin_key: str | None) -> int:
    import httpx

    def cannot(message: str) -> int:
        print(f"sandbox pact verify: {message}", file=sys.stderr)
        return 2

    try:
        import jsonschema  # noqa: F401
        import pact  # noqa: F401
    except ImportError:
        return cannot("pact-python is not installed: pip install 'mypay-sandbox[pact]'")
    if not admin_key:
        return cannot("no admin key: --admin-key, SANDBOX_ADMIN_KEY, or the admin-key file `sandbox up` writes")
    # Pact's usage statistics are not sent from here (the core would call home otherwise);
    # httpx's log lines (the readiness check and the checks) are left out, and the core's
    # own are kept for --json (_Kept says why): the verifier's report and ours say it all.
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    kept = _Kept()
    core = logging.getLogger("pact")
    core.setLevel(logging.WARNING)
    core.addHandler(kept)
    core.propagate = False
    try:
        files = pact_files(args.pacts)
        pacts = [read_pact(path) for path in files]
        _ready(args.url)
        admitted(args.url, admin_key)
        shapes_refused = [shapes.refusal(pact) for pact in pacts]
        refused = [{} if why else refusals(args.url, admin_key, pact) for pact, why in zip(pacts, shapes_refused,
                                                                                             strict=True)]
    except CannotVerify as exc:
        return cannot(str(exc))
    except httpx.HTTPError as exc:  # the checks' calls, after the sandbox answered /ready
        return cannot(f"the sandbox at {args.url} stopped answering: {exc}")
    judged, written_json = [], []
    for path, pact_file, said, why in zip(files, pacts, refused, shapes_refused, strict=True):
        if why:  # a shape not modelled: the verifier would judge it its own way, so it never runs
            judged.append(not_judged(str(path), pact_file, why))
            written_json.append(as_json(judged[-1], None, said, [], shapes.version_of(pact_file)))
            continue
        before = len(kept.lines)
        results = verify_one(path, args.url, admin_key)
        judged.append(judge(str(path), pact_file, said, results))
        written_json.append(as_json(judged[-1], results, said, kept.lines[before:], shapes.version_of(pact_file)))
    verdict = RunVerdict(judged, fail_pending=args.fail_pending)
    written = [(args.json, lambda: json.dumps(written_json, indent=2)), (args.junit, lambda: junit(verdict))]
    for target, render in written:
        if target:
            Path(target).write_text(render())
            print(f"wrote {target}")
    print()
    for judged_file in verdict.files:
        for each in judged_file.interactions:
            print(f"{SAID[each.outcome]}  {judged_file.pact}: {each.description}")
            for words in each.words:
                print(f"          {words}")
    print("\n".join(verdict.summary(args.url)))
    return verdict.exit_code


# Each interaction's line, by its outcome.
SAID = {"verified": "verified", "refused": "FAILED  ", "failed": "FAILED  ", "pending": "PENDING "}


def add_command(sub, add_url: Callable, admin_key: Callable[[argparse.Namespace], str | None]) -> None:
    """`sandbox pact verify`, registered by the CLI (sandbox/cli.py)."""
    nouns = sub.add_parser("pact", help="verify consumers' Pact files against this sandbox (sandbox pact verify)")
    verbs = nouns.add_subparsers(dest="pact_command", required=True, metavar="SUBCOMMAND")
    verify = verbs.add_parser(
        "verify", help="replay pacts against a running sandbox; exit 0 verified, 1 failed, 2 could not verify",
        description="Replay consumers' pacts (files, or folders of *.json) against a running sandbox, provider "
                    "states and webhook messages included. Needs the extra: pip install 'mypay-sandbox[pact]'.")
    verify.add_argument("pacts", nargs="+", metavar="PACT_FILE_OR_DIR")
    add_url(verify)
    verify.add_argument("--admin-key", help="default: SANDBOX_ADMIN_KEY, else the admin-key file `sandbox up` "
                                            "wrote in SANDBOX_DATA_DIR (.sandbox)")
    verify.add_argument("--junit", metavar="FILE", help="also write the results as JUnit XML")
    verify.add_argument("--json", metavar="FILE", help="also write each file's verdict, with the verifier's own "
                                                       "results and log, as JSON")
    verify.add_argument("--fail-pending", action="store_true",
                        help="a pending interaction (\"pending\": true) that fails fails the run (exit 1); "
                             "by default it is counted as 'pending, failed' and the run may still exit 0")
    verify.set_defaults(func=lambda args: run(args, admin_key(args)))
