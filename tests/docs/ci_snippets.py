"""The CI files the guides show (`yaml` blocks): what kind each is, the schema a CI system
checks it against, and its steps as one bash script that runs them as that CI system
would, against a sandbox the caller started (.ci/ci-snippets, with the image).

    python -m tests.docs.ci_snippets list PAGE
        one line per yaml block: its line, its kind (github-workflows, gitlab-ci,
        compose-spec), the check-jsonschema builtin schema that validates it
    python -m tests.docs.ci_snippets service-env PAGE LINE
        the sandbox service's environment as the snippet sets it, one KEY=VALUE a line
    python -m tests.docs.ci_snippets script PAGE LINE --api-port N --ipn-port N
            --service NAME --tests COMMAND
        the snippet's steps as a bash script: its documented ports rewritten to these, its
        webhook host to 127.0.0.1 (the service runs on the host's network), `COMMAND` in
        place of the reader's tests (YOUR_TESTS), `uses:` steps said and not run
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

import yaml
from pytest_codeblocks import extract_from_file

YOUR_TESTS = "npm ci && npm test"
"""The placeholder a snippet has for the reader's own tests: exactly one step or script line."""

SCHEMAS = {"github-workflows": "vendor.github-workflows", "gitlab-ci": "vendor.gitlab-ci",
           "compose-spec": "vendor.compose-spec"}

# What a documented snippet names, and what it is when the service runs on this host's network.
GITHUB_HOSTS = {"127.0.0.1:8000": "api", "127.0.0.1:8001": "ipn"}
GITLAB_HOSTS = {"mypay:8000": "api", "mypay:8001": "ipn"}
WEBHOOK_HOSTS = ("host.docker.internal", "build")


def yaml_blocks(page: Path) -> list[tuple[int, str]]:
    return [(b.lineno, b.code) for b in extract_from_file(page) if (b.syntax or "").strip() in ("yaml", "yml")]


def block(page: Path, line: int) -> str:
    for lineno, code in yaml_blocks(page):
        if lineno == line:
            return code
    raise SystemExit(f"{page}:{line}: no yaml block starts there")


def kind(doc: Any) -> str | None:
    """Which CI system reads this document, or None for a yaml block that is no CI file."""
    if not isinstance(doc, dict):
        return None
    if "jobs" in doc and ("on" in doc or True in doc):  # YAML 1.1 reads a bare `on` as true
        return "github-workflows"
    if isinstance(doc.get("services"), dict) and "jobs" not in doc:  # GitLab's global services are a list
        return "compose-spec"
    if any(isinstance(v, dict) and "script" in v for v in doc.values()):
        return "gitlab-ci"
    return None


def service_env(doc: dict[str, Any]) -> dict[str, str]:
    k = kind(doc)
    if k == "github-workflows":
        (job,) = doc["jobs"].values()
        (service,) = job["services"].values()
        return {key: str(value) for key, value in service.get("env", {}).items()}
    if k == "gitlab-ci":
        # GitLab gives a job's variables to its services too; the sandbox reads its own.
        (job,) = (v for v in doc.values() if isinstance(v, dict) and "script" in v)
        return {key: str(value) for key, value in job.get("variables", {}).items() if key.startswith("SANDBOX_")}
    raise SystemExit(f"a {k} file has no service to start")


def rewrite(text: str, hosts: dict[str, str], api_port: int, ipn_port: int) -> str:
    for documented, which in hosts.items():
        text = text.replace(documented, f"127.0.0.1:{api_port if which == 'api' else ipn_port}")
    return text


def github_script(doc: dict[str, Any], api_port: int, ipn_port: int, service: str, tests: str) -> list[str]:
    (job,) = doc["jobs"].values()
    shell = doc.get("defaults", {}).get("run", {}).get("shell", "bash -e {0}")
    env = {k: rewrite(str(v), GITHUB_HOSTS, api_port, ipn_port) for k, v in job.get("env", {}).items()}
    env.update({k: "127.0.0.1" for k, v in env.items() if v in WEBHOOK_HOSTS})
    lines = ['GITHUB_ENV=$(mktemp)', 'export GITHUB_ENV GITHUB_RUN_ID=$RANDOM$RANDOM GITHUB_RUN_ATTEMPT=1 CI=true']
    lines += [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    for n, step in enumerate(job["steps"], 1):
        name = step.get("name") or step.get("uses") or step.get("run", "").splitlines()[0]
        if "uses" in step:
            lines.append(f"echo {shlex.quote(f'-- step {n}: {name}: an action, not run here')}")
            continue
        run = step["run"]
        run = tests if run.strip() == YOUR_TESTS else run
        run = rewrite(run, GITHUB_HOSTS, api_port, ipn_port).replace("${{ job.services.mypay.id }}", service)
        command = step.get("shell", shell).replace("{0}", f"$__dir/step-{n}.sh")
        lines += [f"echo {shlex.quote(f'-- step {n}: {name}')}",
                  f"cat > \"$__dir/step-{n}.sh\" <<'__END_OF_STEP__'\n{run.rstrip()}\n__END_OF_STEP__",
                  f"{command} || {{ echo {shlex.quote(f'FAILED: step {n} ({name})')} >&2; exit 1; }}",
                  # What a step wrote to $GITHUB_ENV is in the environment of the steps after it.
                  'while IFS= read -r __line; do [ -z "$__line" ] || export "$__line"; done < "$GITHUB_ENV"']
    return lines


def gitlab_script(doc: dict[str, Any], api_port: int, ipn_port: int, tests: str) -> list[str]:
    (job,) = (v for v in doc.values() if isinstance(v, dict) and "script" in v)
    env = {k: rewrite(str(v), GITLAB_HOSTS, api_port, ipn_port) for k, v in job.get("variables", {}).items()}
    env.update({k: "127.0.0.1" for k, v in env.items() if v in WEBHOOK_HOSTS})
    lines = ["export CI=true CI_JOB_ID=$RANDOM$RANDOM"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    # GitLab runs before_script and script in one shell, item after item, as written.
    body = []
    for item in [*job.get("before_script", []), *job["script"]]:
        item = tests if item.strip() == YOUR_TESTS else item
        body += [f"echo {shlex.quote('-- ' + item.splitlines()[0])}", rewrite(item, GITLAB_HOSTS, api_port, ipn_port)]
    lines += ["cat > \"$__dir/job.sh\" <<'__END_OF_JOB__'\n" + "\n".join(body) + "\n__END_OF_JOB__",
              'bash "$__dir/job.sh" || { echo "FAILED: the job exited $?" >&2; exit 1; }']
    return lines


def script(doc: dict[str, Any], api_port: int, ipn_port: int, service: str, tests: str) -> str:
    k = kind(doc)
    lines = ["set -uo pipefail", '__dir=$(mktemp -d)', "trap 'rm -rf \"$__dir\"' EXIT"]
    if k == "github-workflows":
        lines += github_script(doc, api_port, ipn_port, service, tests)
    elif k == "gitlab-ci":
        lines += gitlab_script(doc, api_port, ipn_port, tests)
    else:
        raise SystemExit(f"a {k} file has no steps to run")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.docs.ci_snippets")
    parser.add_argument("what", choices=["list", "service-env", "script"])
    parser.add_argument("page", type=Path)
    parser.add_argument("line", type=int, nargs="?")
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--ipn-port", type=int, default=8001)
    parser.add_argument("--service", default="mypay")
    parser.add_argument("--tests", default=YOUR_TESTS)
    args = parser.parse_args(argv)
    if args.what == "list":
        for lineno, code in yaml_blocks(args.page):
            k = kind(yaml.safe_load(code))
            print(lineno, k or "-", SCHEMAS.get(k or "", "-"))
        return
    if args.line is None:
        parser.error("LINE: the line the yaml block starts at (see `list`)")
    doc = yaml.safe_load(block(args.page, args.line))
    if args.what == "service-env":
        print("\n".join(f"{k}={v}" for k, v in service_env(doc).items()))
    else:
        sys.stdout.write(script(doc, args.api_port, args.ipn_port, args.service, args.tests))


if __name__ == "__main__":
    main(sys.argv[1:])
