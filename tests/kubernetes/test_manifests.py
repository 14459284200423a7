"""Every overlay under deploy/kubernetes/ renders with `kubectl kustomize`, and what it renders
is what docs/kubernetes.md promises: the API, the worker and the IPN with their probes,
requests and limits, non-root and read-only; Services for the API and the IPN; one Job that
migrates while the Deployments' pods wait for it; the Secret only referred to, never written;
disruption budgets, autoscalers and a network policy that lets only the API and the IPN in."""

from __future__ import annotations

import copy
import re
import tomllib

import pytest

from tests.kubernetes.rendered import (
    KUBERNETES,
    OVERLAYS,
    REPO,
    component,
    containers,
    kubectl,
    migration_problems,
    of_kind,
    pod,
    probe_problems,
    render,
    resource_problems,
    sandbox_workloads,
    secret_problems,
    security_problems,
)

pytestmark = pytest.mark.skipif(kubectl() is None, reason="kubectl is not installed: nothing renders the overlays")

PARTS = {"api", "worker", "ipn"}


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request) -> tuple[str, list[dict]]:
    return request.param, render(KUBERNETES / "overlays" / request.param)


def test_every_overlay_renders_the_whole_sandbox(overlay):
    name, docs = overlay
    deployments = of_kind(docs, "Deployment")
    assert {component(d) for d in sandbox_workloads(docs) if d["kind"] == "Deployment"} == PARTS
    assert {s["metadata"]["name"] for s in of_kind(docs, "Service").values()} >= {
        "mypay-sandbox-api", "mypay-sandbox-ipn"}
    for service in ("api", "ipn"):
        (port,) = of_kind(docs, "Service")[f"mypay-sandbox-{service}"]["spec"]["ports"]
        assert port["targetPort"] == "http"
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == (
        set() if name == "podman" else {"mypay-sandbox-api", "mypay-sandbox-worker"})  # Podman plays none
    assert all(h["spec"]["scaleTargetRef"]["name"] in deployments and h["spec"]["minReplicas"] >= 2
               for h in hpas.values())
    budgets = of_kind(docs, "PodDisruptionBudget")
    assert {b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] for b in budgets.values()} == PARTS
    if name == "all-in-one":
        assert set(of_kind(docs, "StatefulSet")) == {"mypay-sandbox-postgres", "mypay-sandbox-redis"}


def test_probes_security_and_resources(overlay):
    """Podman runs no probe (readiness not at all, liveness only by systemd's timers, absent
    here): its overlay has none, and its run waits on /api/v1/ready itself."""
    name, docs = overlay
    problems = []
    for workload in sandbox_workloads(docs):
        if workload["kind"] == "Deployment" and name != "podman":
            problems += probe_problems(workload)
        elif workload["kind"] == "Deployment":
            main = pod(workload)["containers"][0]
            assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(main)
        problems += security_problems(workload) + resource_problems(workload)
    assert not problems, "\n".join(problems)


def test_secrets_are_only_referred_to(overlay):
    _, docs = overlay
    assert not secret_problems(docs)


def test_one_job_migrates_and_no_replica_does(overlay):
    name, docs = overlay
    assert not migration_problems(docs, in_each_pod=name == "podman")


def test_every_sandbox_container_takes_the_settings_and_the_teams_settings(overlay):
    _, docs = overlay
    config = {"mypay-sandbox-config", "mypay-sandbox-teams"}
    generated = {re.sub(r"-[a-z0-9]{10}$", "", n): n for n in of_kind(docs, "ConfigMap")}
    assert set(generated) >= config
    for workload in sandbox_workloads(docs):
        for c in pod(workload)["containers"]:
            taken = {ref["configMapRef"]["name"] for ref in c["envFrom"] if "configMapRef" in ref}
            assert taken >= {generated[n] for n in config}, workload["metadata"]["name"]


def test_only_the_api_and_the_ipn_take_connections(overlay):
    """An ingress policy with no rule selects every sandbox pod (nothing in); the policies with
    rules open the API's port to anyone, and the IPN's, PostgreSQL's and Redis' (all-in-one) to
    the sandbox's own pods only (test_shared_defaults.py: the IPN's to the workers and the API)."""
    _, docs = overlay
    policies = [p for p in of_kind(docs, "NetworkPolicy").values() if "Ingress" in p["spec"]["policyTypes"]]
    deny = [p for p in policies if not p["spec"].get("ingress")]
    assert [p["spec"]["podSelector"]["matchLabels"] for p in deny] == [{"app.kubernetes.io/name": "mypay-sandbox"}]
    opened = {}
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            labels = policy["spec"]["podSelector"]["matchLabels"]
            opened[labels["app.kubernetes.io/component"]] = rule.get("from")
    assert {c for c, sources in opened.items() if sources is None} == {"api"}
    assert all(sources == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "mypay-sandbox"}}}]
               for c, sources in opened.items() if c not in ("api", "ipn"))


def test_settings_are_the_sandboxs_and_the_image_is_this_version(overlay):
    """A misspelt setting would be ignored without a word: every key of the settings'
    ConfigMap is one sandbox/settings.py reads. The image tag is the package's version."""
    _, docs = overlay
    read = set(re.findall(r'"(SANDBOX_[A-Z0-9_]+)"', (REPO / "sandbox" / "settings.py").read_text()))
    for name, cm in of_kind(docs, "ConfigMap").items():
        if name.startswith("mypay-sandbox-config"):
            assert set(cm["data"]) <= read, set(cm["data"]) - read
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    images = {c["image"] for w in sandbox_workloads(docs) for c in containers(w)}
    assert len(images) == 1 and images.pop().endswith(f":{version}")


def test_the_podman_overlay_runs_on_one_hosts_network():
    """Podman plays no Service: every pod on the host's network, each API process on a port
    of its own (two Deployments of one replica), the worker's two replicas as the base's."""
    docs = render(KUBERNETES / "overlays" / "podman")
    deployments = of_kind(docs, "Deployment")
    assert all(pod(d).get("hostNetwork") is True for d in deployments.values())
    replicas = {name: d["spec"]["replicas"] for name, d in deployments.items()}
    assert replicas == {"mypay-sandbox-api": 1, "mypay-sandbox-api-2": 1, "mypay-sandbox-ipn": 1,
                        "mypay-sandbox-worker": 2}
    settings = {name.rsplit("-", 1)[0]: cm.get("data", {}) for name, cm in of_kind(docs, "ConfigMap").items()}
    assert settings["mypay-sandbox-config"]["SANDBOX_API_PORT"] == "8000"
    # The second API's port comes from a ConfigMap taken after the settings' (the later wins).
    *_, last = pod(deployments["mypay-sandbox-api-2"])["containers"][0]["envFrom"]
    assert last["configMapRef"]["name"].startswith("mypay-sandbox-api-port-2-")
    assert settings["mypay-sandbox-api-port-2"] == {"SANDBOX_API_PORT": "8010"}
    assert all("ports" not in c for d in deployments.values() for c in pod(d)["containers"])


def test_each_check_finds_what_it_looks_for():
    docs = render(KUBERNETES / "overlays" / "external")
    api = of_kind(docs, "Deployment")["mypay-sandbox-api"]
    assert not probe_problems(api) and not security_problems(api) and not resource_problems(api)

    def spoiled(change) -> dict:
        copied = copy.deepcopy(api)
        change(pod(copied))
        return copied

    assert probe_problems(spoiled(lambda p: p["containers"][0].pop("readinessProbe")))
    assert probe_problems(spoiled(lambda p: p["containers"][0]["livenessProbe"]["httpGet"].update(path="/x")))
    assert probe_problems(spoiled(lambda p: p["containers"][0].pop("startupProbe")))
    assert security_problems(spoiled(lambda p: p["containers"][0]["securityContext"].update(
        readOnlyRootFilesystem=False)))
    assert security_problems(spoiled(lambda p: p["securityContext"].pop("runAsNonRoot")))
    assert security_problems(spoiled(lambda p: p["initContainers"][0]["volumeMounts"].append(
        {"name": "host", "mountPath": "/etc"})))
    assert resource_problems(spoiled(lambda p: p["containers"][0]["resources"].pop("limits")))

    inline = spoiled(lambda p: p["containers"][0].setdefault("env", []).append(
        {"name": "SANDBOX_ADMIN_KEY", "value": "sk_admin_written_here_0000"}))
    assert secret_problems([d for d in docs if d is not api] + [inline])
    assert secret_problems([*docs, {"kind": "Secret", "metadata": {"name": "mypay-sandbox"}}])
    assert not secret_problems(docs)

    migrating = spoiled(lambda p: p.pop("initContainers"))
    assert migration_problems([d for d in docs if d is not api] + [migrating])
    assert migration_problems([d for d in docs if d["kind"] != "Job"])
