"""The Kustomize overlays under deploy/kubernetes/, rendered by `kubectl kustomize` as a user
renders them, and what every rendered sandbox workload must hold, as checks that return the
problems they find (so a test can also show each check failing on a spoiled copy)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
OVERLAYS = ("external", "all-in-one", "podman")
SECRET = "mypay-sandbox"  # the Secret the operator makes; never rendered
SECRET_SETTINGS = ("SANDBOX_ADMIN_KEY", "SANDBOX_RAIL_SECRET", "SANDBOX_SESSION_SECRET")
WRITABLE = ("/data", "/tmp")  # the empty dirs a read-only root leaves writable

Doc = dict[str, Any]


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render(path: Path) -> list[Doc]:
    done = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"kubectl kustomize {path} failed: {done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def of_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def component(doc: Doc) -> str:
    return doc["metadata"]["labels"]["app.kubernetes.io/component"]


def sandbox_workloads(docs: list[Doc]) -> list[Doc]:
    """The Deployments and Jobs that run the image (not the all-in-one's PostgreSQL and Redis)."""
    return [d for d in docs if d["kind"] in ("Deployment", "Job")
            and d["metadata"]["labels"].get("app.kubernetes.io/name") == "mypay-sandbox"]


def pod(doc: Doc) -> Doc:
    return doc["spec"]["template"]["spec"]


def containers(doc: Doc) -> list[Doc]:
    spec = pod(doc)
    return [*spec.get("initContainers", []), *spec["containers"]]


def probe_problems(deployment: Doc) -> list[str]:
    """The API: ready on /api/v1/ready/api (this API serves: PostgreSQL and Redis answer it; not the
    worker or the IPN), alive on /api/v1/health. The IPN serves /health only.
    The worker serves no HTTP: `sandbox worker --check` (arq's heartbeat, the one the API's
    /ready reads) and `--alive` (this pod's own poll loop)."""
    name, (main,) = deployment["metadata"]["name"], pod(deployment)["containers"]
    expected = {
        "api": ({"httpGet": "/api/v1/ready/api"}, {"httpGet": "/api/v1/health"}),
        "ipn": ({"httpGet": "/health"}, {"httpGet": "/health"}),
        "worker": ({"exec": ["sandbox", "worker", "--check"]}, {"exec": ["sandbox", "worker", "--alive"]}),
    }[component(deployment)]
    problems = []
    expected = (*expected, expected[1])  # liveness starts once its own check first passes
    for kind, want in zip(("readinessProbe", "livenessProbe", "startupProbe"), expected, strict=True):
        probe = main.get(kind) or {}
        got = ({"httpGet": probe["httpGet"]["path"]} if "httpGet" in probe
               else {"exec": probe["exec"]["command"]} if "exec" in probe else {})
        if got != want:
            problems.append(f"{name}: {kind} is {got or 'missing'}, expected {want}")
        elif "httpGet" in probe and probe["httpGet"]["port"] not in [p.get("name") for p in main["ports"]]:
            problems.append(f"{name}: {kind} asks port {probe['httpGet']['port']}, which the container does not name")
    return problems


def security_problems(workload: Doc) -> list[str]:
    name, spec, problems = workload["metadata"]["name"], pod(workload), []
    context = spec.get("securityContext") or {}
    if context.get("runAsNonRoot") is not True or not context.get("runAsUser"):
        problems.append(f"{name}: the pod may run as root ({context})")
    if spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{name}: mounts a service account token no process uses")
    empty_dirs = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    for c in containers(workload):
        sc = c.get("securityContext") or {}
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}/{c['name']}: the root file system is writable")
        if sc.get("allowPrivilegeEscalation") is not False or sc.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{name}/{c['name']}: may escalate or keeps capabilities ({sc})")
        for mount in c.get("volumeMounts", []):
            if mount["name"] not in empty_dirs or mount["mountPath"] not in WRITABLE:
                problems.append(f"{name}/{c['name']}: mounts {mount} (only empty dirs at {WRITABLE})")
    return problems


def resource_problems(workload: Doc) -> list[str]:
    problems = []
    for c in containers(workload):
        res = c.get("resources") or {}
        for bound in ("requests", "limits"):
            if set(res.get(bound) or {}) != {"cpu", "memory"}:
                problems.append(f"{workload['metadata']['name']}/{c['name']}: {bound} {res.get(bound)} "
                                "(cpu and memory, both)")
    return problems


def secret_problems(docs: list[Doc]) -> list[str]:
    """No Secret is rendered (the operator makes `mypay-sandbox`), every sandbox container takes
    it by reference, and no setting of a secret's has a value written anywhere."""
    problems = [f"a Secret is rendered: {d['metadata']['name']}" for d in docs if d["kind"] == "Secret"]
    for cm in of_kind(docs, "ConfigMap").values():
        problems += [f"ConfigMap {cm['metadata']['name']} holds {k}"
                     for k in (cm.get("data") or {}) if k in SECRET_SETTINGS or "PASSWORD" in k]
    for workload in sandbox_workloads(docs):
        for c in containers(workload):
            where = f"{workload['metadata']['name']}/{c['name']}"
            if {"secretRef": {"name": SECRET}} not in c.get("envFrom", []):
                problems.append(f"{where}: does not take the Secret {SECRET}")
            for env in c.get("env", []):
                if "value" in env and (env["name"] in SECRET_SETTINGS or "PASSWORD" in env["name"]):
                    problems.append(f"{where}: {env['name']} is written inline")
    for workload in of_kind(docs, "StatefulSet").values():
        for c in containers(workload):
            problems += [f"{workload['metadata']['name']}: {e['name']} is written inline"
                         for e in c.get("env", []) if "PASSWORD" in e["name"] and "value" in e]
    return problems


def migration_problems(docs: list[Doc], *, in_each_pod: bool = False) -> list[str]:
    """A Job migrates and seeds; every Deployment's pod first waits until the database holds its
    release's migrations (`sandbox migrate --wait`) and no main container migrates. Where no Job
    and no init container runs (podman), each pod's own container migrates and seeds (under the
    advisory lock) before it becomes its process."""
    problems = []
    jobs = [j for j in of_kind(docs, "Job").values() if component(j) == "migrate"]
    if len(jobs) != 1:
        problems.append(f"{len(jobs)} migration Jobs, expected one")
    for job in jobs:
        (main,) = pod(job)["containers"]
        if main.get("args") != ["sandbox migrate && sandbox seed"] or pod(job)["restartPolicy"] == "Always":
            problems.append(f"the Job runs {main.get('command')} {main.get('args')}")
    wait = ["sandbox", "migrate", "--wait"]
    first = ["tini", "--", "sh", "-c", "mkdir -p /data/tmp && export TMPDIR=/data/tmp && "
             'sandbox migrate && sandbox seed && exec sandbox "$0"']
    for deployment in of_kind(docs, "Deployment").values():
        if deployment not in sandbox_workloads(docs):
            continue
        name, spec = deployment["metadata"]["name"], pod(deployment)
        init = [c.get("command", []) + c.get("args", []) for c in spec.get("initContainers", [])]
        (main,) = spec["containers"]
        if in_each_pod:
            if main.get("command") != first or init:
                problems.append(f"{name}: runs {main.get('command')} with init containers {init}, expected {first}")
            continue
        if not any(cmd[:len(wait)] == wait for cmd in init):
            problems.append(f"{name}: no init container runs {wait} ({init})")
        if "migrate" in " ".join(main.get("command", []) + main.get("args", [])):
            problems.append(f"{name}: its process migrates")
    return problems


def settings(docs: list[Doc], name: str = "mypay-sandbox-config") -> dict[str, str]:
    """The data of a generated ConfigMap (its name carries a hash suffix), `{}` if none."""
    found = [cm.get("data") or {} for n, cm in of_kind(docs, "ConfigMap").items() if n.rsplit("-", 1)[0] == name]
    return found[0] if found else {}


# What a pod of the sandbox must not reach over the network: the private ranges (a cluster's
# pods, Services and nodes), link-local (the cloud metadata address), CGNAT, IPv6 unique-local
# and link-local. What it must reach: the public internet (webhook receivers).
NOT_REACHED = ("10.96.0.1:443", "10.0.3.7:8000", "172.17.0.1:80", "192.168.1.1:22", "169.254.169.254:80",
               "100.64.0.1:80", "[fd00::1]:80", "[fe80::1]:80", "10.0.3.7:8001")
REACHED = ("93.184.215.14:443", "1.1.1.1:80", "[2606:4700::1111]:443", "203.0.113.9:8443")


def egress_allows(policies: list[Doc], address: str) -> bool:
    """Whether the egress policies that select every sandbox pod let it open `host:port` (an IP
    literal: a rule naming pods or namespaces matches pods, never a bare address). No policy of
    type Egress means everything is allowed, as in Kubernetes."""
    import ipaddress

    host, _, port = address.rpartition(":")
    ip, number = ipaddress.ip_address(host.strip("[]")), int(port)
    egress = [p for p in policies if "Egress" in p["spec"].get("policyTypes", [])]
    if not egress:
        return True

    def peer_matches(peer: Doc) -> bool:
        block = peer.get("ipBlock")
        if block is None:
            return False
        net = ipaddress.ip_network(block["cidr"])
        return (ip.version == net.version and ip in net
                and not any(ip in ipaddress.ip_network(e) for e in block.get("except", [])))

    def port_matches(rule: Doc) -> bool:
        return not rule.get("ports") or any(p.get("port") in (None, number) for p in rule["ports"])

    return any((not rule.get("to") or any(peer_matches(peer) for peer in rule["to"])) and port_matches(rule)
               for policy in egress for rule in policy["spec"].get("egress", []))
