"""The Helm chart, installed into the cluster: the operator runs in pods on the real node, two replicas and one
leader, and does its job through the chart's least-privilege RBAC (namespaced mode: a Role per watched
namespace). The tests share one release and run in file order: install, materialize the example, `helm test`,
an upgrade with a Run in flight, the leader killed, and `helm uninstall` leaving nothing behind.

The operator image is the locally built `kasset/operator` (`make images`, imported by the cluster's start).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from support.clusterinfo import ClusterInfo, wait_for
from support.helm import CHART, helm
from support.prometheus import PrometheusServer

pytestmark = [pytest.mark.cluster, pytest.mark.realnode]

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "02-assets"
LOCAL_VALUES = CHART / "ci" / "local-values.yaml"
RELEASE = "kasset"
RUN_TIMEOUT = 240


@dataclass
class Release:
    cluster: ClusterInfo
    namespace: str  # the operator's
    team: str  # the one namespace it watches

    def helm(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        return helm(*args, "-n", self.namespace, kubeconfig=self.cluster.kubeconfig, timeout=timeout, check=check)

    def get(self, namespace: str, *what: str) -> dict:
        return json.loads(self.cluster.kubectl("-n", namespace, "get", *what, "-o", "json").stdout)

    def operator_pods(self) -> list[dict]:
        return self.get(self.namespace, "pods", "-l", "app.kubernetes.io/name=kasset,app.kubernetes.io/component=operator")["items"]

    def ready_pods(self) -> list[dict]:
        return [p for p in self.operator_pods() if not p["metadata"].get("deletionTimestamp") and any(
            c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))]

    def leader(self) -> str | None:
        leases = self.get(self.namespace, "leases.coordination.k8s.io")["items"]
        holders = [lease["spec"].get("holderIdentity") for lease in leases]
        return next((h for h in holders if h), None)

    def succeeded(self, run: str) -> str | None:
        found = self.cluster.kubectl("-n", self.team, "get", "runs.kasset.dev", run, "-o", "json", check=False)
        if found.returncode:
            return None
        conditions = json.loads(found.stdout).get("status", {}).get("conditions", [])
        return next((c["status"] for c in conditions if c["type"] == "Succeeded" and c["status"] != "Unknown"), None)


def _install(cluster: ClusterInfo, namespace: str, team: str) -> None:
    helm("upgrade", "--install", RELEASE, str(CHART), "-n", namespace, "-f", str(LOCAL_VALUES),
         "--set-json", f"watchNamespaces={json.dumps([team])}", "--wait", "--timeout", "240s",
         kubeconfig=cluster.kubeconfig, timeout=300)


@pytest.fixture(scope="module")
def release(cluster: ClusterInfo, crds):
    if not cluster.real_node:
        pytest.skip(f"no real node on this cluster: {cluster.real_node_skip_reason}")
    namespace = cluster.create_namespace("system", prefix="helm")
    team = cluster.create_namespace("team", prefix="helm")
    _install(cluster, namespace, team)
    installed = Release(cluster, namespace, team)
    try:
        yield installed
    finally:
        helm("uninstall", RELEASE, "-n", namespace, "--ignore-not-found", "--wait",
             kubeconfig=cluster.kubeconfig, timeout=180, check=False)
        cluster.delete_namespace(team)
        cluster.delete_namespace(namespace)


def _apply_example(release: Release) -> None:
    release.cluster.kubectl("apply", "-n", release.team, "-f", str(EXAMPLE))


def test_the_operator_runs_on_the_real_node_with_one_leader_and_materializes_the_example(release: Release, real_node):
    pods = wait_for(lambda: len(release.ready_pods()) == 2 and release.ready_pods(), timeout=120,
                    what="two Ready operator pods")
    assert {p["spec"]["nodeName"] for p in pods} == {real_node}
    names = {p["metadata"]["name"] for p in pods}
    assert wait_for(release.leader, timeout=30, what="a Lease holder") in names
    _apply_example(release)
    assert wait_for(lambda: release.succeeded("orders-1"), timeout=RUN_TIMEOUT, what="Run orders-1 to finish") == "True"
    asset = release.get(release.team, "assets.kasset.dev", "valid-orders")
    assert asset["status"]["lastMaterialization"]["run"] == "orders-1"


def test_a_real_prometheus_scrapes_the_operator_pods(release: Release, tmp_path: Path):
    """Debian's Prometheus, on the host, scrapes both replicas at their pod IPs (the bridge routes to them): one
    leader, the example's Run counted, its Assets' materialization times exported."""
    ips = [p["status"]["podIP"] for p in release.ready_pods()]
    assert len(ips) == 2, ips
    prom = PrometheusServer([f"{ip}:8080" for ip in ips], tmp_path)
    try:
        wait_for(lambda: prom.targets_up() == 2, timeout=30, what="both operator pods scraped (up)")
        leaders = wait_for(lambda: prom.query("sum(kasset_leader)"), timeout=30, what="kasset_leader")
        assert leaders[0]["value"][1] == "1"
        wait_for(lambda: prom.query('sum(kasset_runs_finished_total{outcome="succeeded"}) >= 1'), timeout=30,
                 what="the example's Run counted as succeeded")
        assets = prom.query(f'kasset_asset_last_materialization_timestamp_seconds{{namespace="{release.team}"}} > 0')
        assert {s["metric"]["asset"] for s in assets} >= {"valid-orders"}, assets
    finally:
        prom.stop()


def test_helm_test_checks_the_operator_through_its_service(release: Release):
    out = release.helm("test", RELEASE, "--timeout", "120s")  # the pod is deleted once it succeeded
    assert re.search(r"TEST SUITE:\s+kasset-test\n.*\n.*\nPhase:\s+Succeeded", out), out


def test_an_upgrade_with_a_run_in_flight_finishes_that_run_exactly_once(release: Release):
    release.cluster.kubectl("apply", "-n", release.team, "-f", "-", input=_slow_run("slow-1"))
    wait_for(lambda: release.get(release.team, "jobs.batch", "-l", "kasset.dev/run=slow-1")["items"], timeout=60,
             what="the slow Run's first step Job")
    before = {p["metadata"]["name"] for p in release.operator_pods()}
    release.helm("upgrade", RELEASE, str(CHART), "--reuse-values", "--set-string", f"podAnnotations.kasset\\.dev/restarted={time.time_ns()}",
                 "--wait", "--timeout", "240s")
    after = {p["metadata"]["name"] for p in release.ready_pods()}
    assert not before & after, "the upgrade replaced both operator pods"
    assert wait_for(lambda: release.succeeded("slow-1"), timeout=RUN_TIMEOUT, what="Run slow-1 to finish") == "True"
    jobs = release.get(release.team, "jobs.batch", "-l", "kasset.dev/run=slow-1")["items"]
    assert len(jobs) == 2 and all(j["status"].get("succeeded") == 1 and not j["status"].get("failed") for j in jobs)
    run = release.get(release.team, "runs.kasset.dev", "slow-1")
    assert [s.get("attempts", 1) for s in run["status"]["steps"]] == [1, 1]


def test_killing_the_leader_hands_over_to_the_standby_within_15_seconds(release: Release):
    wait_for(lambda: len(release.ready_pods()) == 2, timeout=120, what="two Ready operator pods")
    leader = wait_for(release.leader, timeout=30, what="a Lease holder")
    killed = time.monotonic()
    release.cluster.kubectl("-n", release.namespace, "delete", "pod", leader, "--grace-period=0", "--force")
    new = wait_for(lambda: (h := release.leader()) not in (None, leader) and h, timeout=30, what="a new leader")
    took = time.monotonic() - killed
    print(f"\n[failover] {leader} killed -> {new} leads after {took:.1f}s")
    assert took < 15
    release.cluster.kubectl("apply", "-n", release.team, "-f", "-", input=_slow_run("after-failover", seconds=1))
    assert wait_for(lambda: release.succeeded("after-failover"), timeout=RUN_TIMEOUT,
                    what="a Run after the failover") == "True"


def test_uninstall_leaves_no_operator_objects_behind(release: Release):
    release.helm("uninstall", RELEASE, "--wait")
    kinds = "deployments,services,serviceaccounts,configmaps,roles,rolebindings,leases,poddisruptionbudgets"
    for namespace in (release.namespace, release.team):
        left = release.get(namespace, kinds, "-l", "app.kubernetes.io/instance=" + RELEASE)["items"]
        assert not left, [f"{o['kind']}/{o['metadata']['name']}" for o in left]
    wait_for(lambda: not release.get(release.namespace, "replicasets,pods", "-l", "app.kubernetes.io/instance=" + RELEASE)["items"],
             timeout=90, what="the operator's ReplicaSets and pods to be garbage-collected")
    leases = release.get(release.namespace, "leases.coordination.k8s.io")["items"]
    assert not leases, [lease["metadata"]["name"] for lease in leases]
    cluster_wide = json.loads(release.cluster.kubectl(
        "get", "clusterroles,clusterrolebindings", "-l", "app.kubernetes.io/instance=" + RELEASE, "-o", "json").stdout)
    assert not cluster_wide["items"]


def _python_asset(name: str, code: str, *, deps: tuple[str, ...] = ()) -> dict:
    return {"apiVersion": "kasset.dev/v1alpha1", "kind": "Asset", "metadata": {"name": name},
            "spec": {"deps": [{"asset": d} for d in deps],
                     "container": {"image": "kasset/step-python:0.1.0", "imagePullPolicy": "Never",
                                   "command": ["python3", "-c", f"from kasset import sdk\n{code}"]}}}


def _slow_run(name: str, *, seconds: int = 20) -> str:
    """An ad-hoc Run over two assets whose first step sleeps: long enough to upgrade the operator under it."""
    return yaml.safe_dump_all([
        _python_asset(f"{name}-a", f"import time\ntime.sleep({seconds})\nsdk.report(metadata={{'slept': {seconds}}})"),
        _python_asset(f"{name}-b", f"sdk.report(metadata={{'after': '{name}-a'}})", deps=(f"{name}-a",)),
        {"apiVersion": "kasset.dev/v1alpha1", "kind": "Run", "metadata": {"name": name},
         "spec": {"selection": {"assets": [f"{name}-b"], "upstream": True}}},
    ])
