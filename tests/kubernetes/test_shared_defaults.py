"""Every overlay is a shared sandbox, safe by default, and holds what a cluster expects of it:

- a merchant's webhook may not target the network the sandbox runs in: the sandbox refuses
  private addresses (SANDBOX_WEBHOOK_BLOCK_PRIVATE) and an egress NetworkPolicy lets its pods
  reach DNS, PostgreSQL, Redis, the IPN and the public internet only;
- no demo merchant (whose keys the README publishes) is seeded;
- the IPN takes connections from the sandbox's own workers and API pods only;
- a drain or an autoscaler takes one pod at a time (maxUnavailable), and an apply does not
  reset the autoscaler's count; each Deployment's replicas spread over nodes and zones, so
  both API replicas do not share one node where the cluster has two;
- each pod writes to a /data and a /tmp of its own (the podman overlay too);
- the recommended app.kubernetes.io labels on every pod template; the migration Job goes away
  by itself; the teams ConfigMap holds what its comment says;
- a stop: the preStop hook and the grace period fit a process that exits within 2 s."""

from __future__ import annotations

import re
import tomllib

import pytest

from sandbox.settings import Settings
from tests.kubernetes.rendered import (
    KUBERNETES,
    NOT_REACHED,
    OVERLAYS,
    REACHED,
    REPO,
    component,
    egress_allows,
    kubectl,
    of_kind,
    pod,
    render,
    sandbox_workloads,
    settings,
)

pytestmark = pytest.mark.skipif(kubectl() is None, reason="kubectl is not installed: nothing renders the overlays")

LABELS = ("name", "instance", "part-of", "component", "version", "managed-by")
# After SIGTERM an API process gives the requests in flight at most 3 s and its shutdown steps at
# most 7 s (docs/running-it.md, "Stopping with streams open"); with no laggard it is gone in ~1 s.
IN_FLIGHT_S, SHUTDOWN_S = 3, 7


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request) -> tuple[str, list[dict]]:
    return request.param, render(KUBERNETES / "overlays" / request.param)


def version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_every_overlay_refuses_private_webhook_targets_and_seeds_no_demo_merchant(overlay):
    _, docs = overlay
    config = settings(docs)
    assert config.get("SANDBOX_WEBHOOK_BLOCK_PRIVATE") == "true"
    assert config.get("SANDBOX_DEMO_MERCHANTS") == "false"
    assert not any(k.startswith("SANDBOX_WEBHOOK_ALLOW") for k in config), "an allow-list by default"


def test_sandbox_pods_reach_dns_the_servers_the_ipn_and_the_internet_and_nothing_else(overlay):
    name, docs = overlay
    policies = list(of_kind(docs, "NetworkPolicy").values())
    egress = [p for p in policies if "Egress" in p["spec"].get("policyTypes", [])]
    assert egress, "no NetworkPolicy limits what a sandbox pod may reach"
    # The egress policies select every pod of the sandbox's, the migration Job's included.
    for workload in sandbox_workloads(docs):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert any(p["spec"]["podSelector"]["matchLabels"].items() <= labels.items() for p in egress), \
            workload["metadata"]["name"]
    blocked = [a for a in NOT_REACHED if egress_allows(egress, a)]
    assert not blocked, f"a sandbox pod may reach {blocked}"
    assert all(egress_allows(egress, a) for a in REACHED)
    # The rules that name pods: the cluster's DNS on 53, and the sandbox's own IPN (and, all-in-one,
    # its PostgreSQL and Redis); rules with no destination open PostgreSQL's and Redis' ports only.
    rules = [r for p in egress for r in p["spec"]["egress"]]
    dns = [r for r in rules if any(peer.get("podSelector", {}).get("matchLabels") == {"k8s-app": "kube-dns"}
                                   for peer in r.get("to", []))]
    assert [sorted((p["protocol"], p["port"]) for p in r["ports"]) for r in dns] == [[("TCP", 53), ("UDP", 53)]]
    own = {"ipn", "postgres", "redis"}
    for rule in rules:
        if rule in dns:
            continue
        pods = [peer for peer in rule.get("to", []) if "ipBlock" not in peer]
        assert all(set(peer) == {"podSelector"} and peer["podSelector"]["matchLabels"].get(
            "app.kubernetes.io/component") in own for peer in pods), rule
        if not rule.get("to"):
            assert [(p["protocol"], p["port"]) for p in rule["ports"]] in ([("TCP", 5432)], [("TCP", 6379)]), rule
    if name == "all-in-one":  # its servers are its own pods: no port is open to any address
        assert all(rule.get("to") for rule in rules)
        assert not egress_allows(egress, "10.0.3.7:5432") and not egress_allows(egress, "10.0.3.7:6379")


def test_the_ipns_ingress_names_its_source(overlay):
    _, docs = overlay
    (policy,) = [p for p in of_kind(docs, "NetworkPolicy").values()
                 if p["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/component") == "ipn"]
    (rule,) = policy["spec"]["ingress"]
    sources = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in rule.get("from", [])}
    assert sources == {"worker", "api"}, rule
    assert all(set(peer) == {"podSelector"} for peer in rule["from"]), "a source outside the sandbox's pods"


def test_a_drain_takes_one_pod_at_a_time_and_an_apply_keeps_the_autoscalers_count(overlay):
    name, docs = overlay
    for budget in of_kind(docs, "PodDisruptionBudget").values():
        assert budget["spec"].get("maxUnavailable") == 1 and "minAvailable" not in budget["spec"], budget
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(docs, "HorizontalPodAutoscaler").values()}
    deployments = of_kind(docs, "Deployment")
    assert all("replicas" not in deployments[d]["spec"] for d in scaled), scaled
    if name == "podman":  # no autoscaler plays there: the counts are written, none is rendered
        assert not scaled and all("replicas" in d["spec"] for d in deployments.values())
    else:
        assert scaled == {"mypay-sandbox-api", "mypay-sandbox-worker"}


def test_each_deployments_replicas_spread_over_nodes_and_zones(overlay):
    """The scheduler is asked to put a part's replicas on different nodes (and zones): counted
    among that part's pods of the same rollout, and a preference, so one node still runs all."""
    _, docs = overlay
    deployments = [d for d in sandbox_workloads(docs) if d["kind"] == "Deployment"]
    assert {component(d) for d in deployments} >= {"api", "worker", "ipn"}
    for deployment in deployments:
        spread = pod(deployment).get("topologySpreadConstraints", [])
        assert {c["topologyKey"] for c in spread} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}, \
            deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        for constraint in spread:
            assert constraint["maxSkew"] == 1 and constraint["whenUnsatisfiable"] == "ScheduleAnyway", constraint
            selected = constraint["labelSelector"]["matchLabels"]
            assert all(labels.get(k) == v for k, v in selected.items()), (selected, labels)
            assert set(constraint["matchLabelKeys"]) == {"app.kubernetes.io/component", "pod-template-hash"}


def test_each_pod_writes_to_a_data_and_a_tmp_of_its_own(overlay):
    """In a cluster an emptyDir is the pod's own. Podman 4.3 makes one named volume of it, by
    its name, shared by every pod that names it: there no volume is named, and /data is the
    image's anonymous volume (one per container); temporary files and the worker's liveness
    file live under it."""
    name, docs = overlay
    for workload in sandbox_workloads(docs):
        spec = pod(workload)
        if name == "podman" and workload["kind"] == "Deployment":
            assert not spec.get("volumes") and not any(c.get("volumeMounts") for c in spec["containers"])
            (main,) = spec["containers"]
            assert "export TMPDIR=/data/tmp" in main["command"][-1]
            continue
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert set(volumes) == {"data", "tmp"} and all(set(v) == {"name", "emptyDir"} for v in volumes.values())
        for c in spec["containers"]:
            assert {(m["name"], m["mountPath"]) for m in c["volumeMounts"]} == {("data", "/data"), ("tmp", "/tmp")}
    alive = settings(docs)["SANDBOX_WORKER_ALIVE_FILE"]
    assert alive.startswith("/data/" if name == "podman" else "/tmp/")


def test_every_pod_template_has_the_recommended_labels(overlay):
    _, docs = overlay
    for workload in sandbox_workloads(docs):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        missing = [k for k in LABELS if f"app.kubernetes.io/{k}" not in labels]
        assert not missing, f"{workload['metadata']['name']}: no {missing}"
        assert labels["app.kubernetes.io/component"] == component(workload)
        assert labels["app.kubernetes.io/version"] == version()
        assert (labels["app.kubernetes.io/part-of"], labels["app.kubernetes.io/instance"]) == ("mypay-sandbox",) * 2
        # The selectors stay as they were: a Deployment's cannot change once made.
        if workload["kind"] == "Deployment":
            assert set(workload["spec"]["selector"]["matchLabels"]) == {
                "app.kubernetes.io/name", "app.kubernetes.io/component"}


def test_the_migration_job_is_removed_once_finished(overlay):
    _, docs = overlay
    (job,) = of_kind(docs, "Job").values()
    assert 0 < job["spec"].get("ttlSecondsAfterFinished", 0) <= 7 * 86400


def test_the_teams_configmap_holds_what_its_comment_says():
    """base/teams.env says it writes out retention's settings at their defaults."""
    text = (KUBERNETES / "base" / "teams.env").read_text()
    written = dict(re.findall(r"^(SANDBOX_[A-Z_]+)=(.*)$", text, re.M))
    assert set(written) == {"SANDBOX_RETENTION_DAYS", "SANDBOX_RETENTION_EVERY_MIN", "SANDBOX_RETENTION_BATCH"}
    defaults = Settings()
    assert float(written["SANDBOX_RETENTION_DAYS"]) == defaults.retention_days
    assert int(written["SANDBOX_RETENTION_EVERY_MIN"]) == defaults.retention_every_min
    assert int(written["SANDBOX_RETENTION_BATCH"]) == defaults.retention_batch
    for overlay in OVERLAYS:
        assert settings(render(KUBERNETES / "overlays" / overlay), "mypay-sandbox-teams") == written


def test_a_stop_fits_the_grace_period(overlay):
    """The API and the IPN take a Service's traffic: a preStop hook keeps the process serving
    while the pod leaves the endpoints, then SIGTERM; the grace period covers the hook and the
    longest stop, and not much more (a stuck process is killed soon)."""
    name, docs = overlay
    for workload in sandbox_workloads(docs):
        if workload["kind"] != "Deployment":
            continue
        spec = pod(workload)
        grace = spec["terminationGracePeriodSeconds"]
        hook = spec["containers"][0].get("lifecycle", {}).get("preStop")
        if component(workload) == "worker":
            assert hook is None and grace <= 30
            continue
        assert hook is not None and hook["exec"]["command"][0] == "sleep", workload["metadata"]["name"]
        wait = int(hook["exec"]["command"][1])
        assert 3 <= wait and wait + IN_FLIGHT_S + SHUTDOWN_S <= grace <= wait + IN_FLIGHT_S + SHUTDOWN_S + 10, \
            (wait, grace)


def test_every_skipped_checkov_check_is_named_in_the_guide_with_why():
    """.ci/kube-checks runs checkov with deploy/kubernetes/checkov.yaml; a check skipped there or
    by an overlay's `checkov.io/skip…` annotation is a row of the guide's "Static checks" table."""
    import yaml

    skipped = set(yaml.safe_load((KUBERNETES / "checkov.yaml").read_text())["skip-check"])
    for overlay in OVERLAYS:
        for doc in render(KUBERNETES / "overlays" / overlay):
            annotations = doc["metadata"].get("annotations") or {}
            skipped |= {v.split("=", 1)[0] for k, v in annotations.items() if k.startswith("checkov.io/skip")}
    guide = (REPO / "docs" / "kubernetes.md").read_text()
    section = guide[guide.index("## Static checks"):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    rows = dict(re.findall(r"^\| `(CKV_[A-Z0-9_]+)` \|[^|]*\|\s*([^|]+?)\s*\|$", section, re.M))
    assert skipped == set(rows), f"skipped but not in the guide: {skipped - set(rows)}; in the guide only: " \
        f"{set(rows) - skipped}"
    assert all(len(why) > 20 for why in rows.values()), rows


def test_the_apis_tmp_holds_the_largest_upload(overlay):
    """The API spools an upload to its /tmp: the body and the file it carries, up to 2 ×
    SANDBOX_BATCH_MAX_BYTES, one at a time (docs/configuration.md). 64 Mi held none."""
    name, docs = overlay
    api = of_kind(docs, "Deployment")["mypay-sandbox-api"]
    if name == "podman":  # no emptyDir there, so no bound: TMPDIR is in the container's own /data
        assert not pod(api).get("volumes") and "export TMPDIR=/data/tmp" in pod(api)["containers"][0]["command"][-1]
        return
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    (tmp,) = [v for v in pod(api)["volumes"] if v["name"] == "tmp"]
    size, unit = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", tmp["emptyDir"]["sizeLimit"]).groups()  # type: ignore[union-attr]
    assert int(size) * units[unit] >= 2 * Settings().batch_max_bytes + 32 * 2**20
