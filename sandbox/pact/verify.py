"""`sandbox pact verify PACT_FILE_OR_DIR...`: pact-python's Verifier (the Rust core every
Pact language shares) replays each pact against a running sandbox, with the provider
state and message URLs filled in and the admin key sent as X-Sandbox-Admin-Key.

Before the verifier runs, every interaction's provider states and every message are
checked by the sandbox (`"action": "check"`, `"check": true`: judged, nothing made), so a
refusal is known in the sandbox's own words (the param at fault, the known states, what
to use instead): the verifier itself keeps only "Invalid status code: 400" of a refused
state, and of a refused message only that its body could not be read. A refused
interaction is failed, its words in the terminal, --json and --junit alike.

Exit 0: every interaction verified; 1: the pact asks for something the sandbox does not
do (each failure printed in the verifier's words, or the sandbox's); 2: it could not
verify (pact-python missing, the sandbox unreachable, the admin key refused, a pact
unreadable or with no interactions). pact-python is the optional extra
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
    if not interactions(pact):
        raise CannotVerify(f"{path}: a pact with no interactions; nothing to verify")
    return pact


def provider_of(path: Path) -> str:
    return read_pact(path)["provider"]["name"]


def interactions(pact: dict) -> list[dict]:
    """Its interactions: V4's (HTTP and messages alike) and a V3 message pact's `messages`."""
    return [i for i in [*pact.get("interactions", []), *pact.get("messages", [])] if isinstance(i, dict)]


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


def refusals(url: str, admin_key: str, pact: dict) -> dict[str, list[str]]:
    """What the sandbox refuses of each interaction (by its description), asked before
    the verifier runs: each state and each message checked, nothing made."""
    import httpx

    refused: dict[str, list[str]] = {}
    with httpx.Client(base_url=url.rstrip("/"), timeout=30, headers={ADMIN_KEY_HEADER: admin_key}) as client:
        for interaction in interactions(pact):
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
                        refused.setdefault(description, []).append(f"{status}: {said}")
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
    results = verifier.results
    results["pact"] = str(path)
    return results


def with_refusals(results: dict, refused: dict[str, list[str]]) -> dict:
    """The verifier's results, each refused interaction failed with the sandbox's words
    (`refused`), whatever the verifier made of it."""
    for interaction in results.get("interactionResults", []):
        words = refused.get(interaction.get("description"))
        if words:
            interaction["refused"] = words
            interaction["result"] = "Error"
            results["result"] = False
    return results


def junit(results: list[dict]) -> str:
    from junitparser import Failure, JUnitXml, TestCase, TestSuite

    xml = JUnitXml()
    for result in results:
        suite = TestSuite(result["pact"])
        errors = result.get("errors", [])
        for interaction in result.get("interactionResults", []):
            case = TestCase(interaction["description"], classname=result["pact"])
            if interaction.get("result") != "OK":
                # An error names its interaction as "Verifying a pact between ... - DESCRIPTION".
                error = next((e for e in errors if str(e.get("interaction")).endswith(interaction["description"])), {})
                said = json.dumps(error.get("mismatch", error))
                if interaction.get("refused"):
                    said = "refused by the sandbox: " + " | ".join(interaction["refused"]) + "\n" + said
                case.result = [Failure(said[:4000])]
            suite.add_testcase(case)
        xml.add_testsuite(suite)
    return xml.tostring().decode()


def run(args: argparse.Namespace, admin_key: str | None) -> int:
    import httpx

    def cannot(message: str) -> int:
        print(f"sandbox pact verify: {message}", file=sys.stderr)
        return 2

    try:
        import pact  # noqa: F401
    except ImportError:
        return cannot("pact-python is not installed: pip install 'mypay-sandbox[pact]'")
    if not admin_key:
        return cannot("no admin key: --admin-key, SANDBOX_ADMIN_KEY, or the admin-key file `sandbox up` writes")
    # Pact's usage statistics are not sent from here (the core would call home otherwise),
    # and its log lines (and httpx's, of the readiness check and the checks) are left out:
    # the verifier prints what matters.
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    for noisy in ("pact", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        files = pact_files(args.pacts)
        pacts = [read_pact(path) for path in files]
        _ready(args.url)
        admitted(args.url, admin_key)
        refused = [refusals(args.url, admin_key, pact) for pact in pacts]
    except CannotVerify as exc:
        return cannot(str(exc))
    except httpx.HTTPError as exc:  # the checks' calls, after the sandbox answered /ready
        return cannot(f"the sandbox at {args.url} stopped answering: {exc}")
    results = [with_refusals(verify_one(path, args.url, admin_key), said)
               for path, said in zip(files, refused, strict=True)]
    written = [(args.json, lambda: json.dumps(results, indent=2)), (args.junit, lambda: junit(results))]
    for target, render in written:
        if target:
            Path(target).write_text(render())
            print(f"wrote {target}")
    print()
    outcomes = [(r["pact"], i) for r in results for i in r.get("interactionResults", [])]
    for pact_file, interaction in outcomes:
        said = "verified" if interaction.get("result") == "OK" else "FAILED  "
        print(f"{said}  {pact_file}: {interaction['description']}")
        for words in interaction.get("refused", []):
            print(f"          refused: {words}")
    verified = sum(1 for _, i in outcomes if i.get("result") == "OK")
    print(f"{verified} of {len(outcomes)} interaction(s) verified against {args.url}")
    return 0 if all(r.get("result") for r in results) else 1


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
    verify.add_argument("--json", metavar="FILE", help="also write the verifier's results as JSON")
    verify.set_defaults(func=lambda args: run(args, admin_key(args)))
