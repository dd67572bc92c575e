"""A real Prometheus scrapes two operators (one reconciling, one a standby that never gets the Lease) while the
test makes every situation the dashboard and the alerts describe happen; then every dashboard query and every
alert expression of the chart must return data against it.

Provoked: a failed Run, a stale Asset (its codeVersion changed), a late Asset (freshness 1 s), reconcile errors
(a ValidatingAdmissionPolicy refuses the status writes of one Run), no leader (the reconciling operator stops,
the standby stays), and no operator at all (the standby stops too)."""

from __future__ import annotations

import datetime
import threading
import time
from pathlib import Path

import pytest
from kubernetes import client

from support.clusterinfo import wait_for
from support.kasset import Kasset, asset, kwok_container, run
from support.operator import OperatorProcess, free_port
from support.prometheus import PrometheusServer
from support.promqueries import alert_queries, dashboard_queries

pytestmark = pytest.mark.timeout(300)
HELD_LEASE = "itp-held-elsewhere"
DOOMED = "doomed"


def hold_lease(cluster, namespace: str, stop: threading.Event) -> None:
    """Another holder renews the Lease every second, so the standby never leads."""
    api = client.CoordinationV1Api(cluster.api)
    api.create_namespaced_lease(namespace, {"metadata": {"name": HELD_LEASE}, "spec": {"holderIdentity": "elsewhere",
                                                                                       "leaseDurationSeconds": 10}})
    while not stop.wait(1):
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        api.patch_namespaced_lease(HELD_LEASE, namespace, {"spec": {"renewTime": now}})


def refuse_status_writes_of(cluster, namespace: str, run_name: str) -> str:
    name = f"refuse-{namespace}"
    admission = client.CustomObjectsApi(cluster.api)
    admission.create_cluster_custom_object("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", {
        "metadata": {"name": name},
        "spec": {"failurePolicy": "Fail",
                 "matchConstraints": {"resourceRules": [{"apiGroups": ["kasset.dev"], "apiVersions": ["*"],
                                                         "operations": ["UPDATE"], "resources": ["runs/status"]}]},
                 "validations": [{"expression": f"object.metadata.name != '{run_name}'",
                                  "message": "status writes of this Run are refused by the test"}]}})
    admission.create_cluster_custom_object("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings", {
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"],
                 "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}}})
    return name


def returns_data(prom: PrometheusServer, exprs: list[tuple[str, str]]) -> list[str]:
    """The names of the expressions that return no data yet."""
    return [name for name, expr in exprs if not prom.query(expr)]


def test_every_dashboard_query_and_alert_expression_returns_data(cluster, crds, tmp_path: Path):
    namespace = cluster.create_namespace("prometheus", prefix="itp")
    stop_holding = threading.Event()
    holder = threading.Thread(target=hold_lease, args=(cluster, namespace, stop_holding), daemon=True)
    holder.start()
    ports = [free_port(), free_port()]
    common = {"KASSET_METRICS_BIND_ADDRESS": "127.0.0.1", "KASSET_MISSING_REFERENCE_GRACE_SECONDS": "3"}
    leader = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace_pattern=namespace, node_kind="kwok",
                             log_path=tmp_path / "leader.log", extra_env={**common, "KASSET_METRICS_PORT": str(ports[0])})
    standby = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace_pattern=namespace, node_kind="kwok",
                              log_path=tmp_path / "standby.log",
                              extra_env={**common, "KASSET_METRICS_PORT": str(ports[1]), "KASSET_LEADER_ELECT": "true",
                                         "KASSET_LEADER_ELECTION_NAMESPACE": namespace,
                                         "KASSET_LEADER_ELECTION_ID": HELD_LEASE})
    policy = None
    prom = None
    try:
        leader.start()
        standby.start()
        prom = PrometheusServer([f"127.0.0.1:{p}" for p in ports], tmp_path)
        wait_for(lambda: prom.targets_up() == 2, timeout=30, what="both operators scraped")
        kasset = Kasset(cluster, namespace)
        policy = refuse_status_writes_of(cluster, namespace, DOOMED)
        kasset.create(asset("late", freshness={"maximumLagSeconds": 1}), asset("aging", codeVersion="1"),
                      asset("broken", container=kwok_container(fail=True)),
                      run("fresh", assets=["late", "aging"]), run("fails", assets=["broken"]))
        kasset.wait_run("fresh")
        kasset.wait_run("fails", expect="False")
        custom = client.CustomObjectsApi(cluster.api)
        custom.patch_namespaced_custom_object("kasset.dev", "v1alpha1", namespace, "assets", "aging",
                                              {"spec": {"codeVersion": "2"}})
        kasset.create(asset(DOOMED, container=kwok_container(delay="3s")), run(DOOMED, assets=[DOOMED]))
        engine = dashboard_queries() + [q for q in alert_queries() if q[0] not in ("KassetOperatorDown", "KassetNoLeader")]
        t0 = time.monotonic()
        wait_for(lambda: not returns_data(prom, engine), timeout=90, interval=1,
                 what=f"data from every query (still none: {returns_data(prom, engine)})")
        print(f"\n[prometheus] {len(engine)} dashboard and alert queries returned data after {time.monotonic() - t0:.1f}s")
        leader.stop()
        wait_for(lambda: not returns_data(prom, [q for q in alert_queries() if q[0] == "KassetNoLeader"]),
                 timeout=30, interval=1, what="KassetNoLeader's expression to return data")
        standby.stop()
        wait_for(lambda: not returns_data(prom, [q for q in alert_queries() if q[0] == "KassetOperatorDown"]),
                 timeout=30, interval=1, what="KassetOperatorDown's expression to return data")
    finally:
        stop_holding.set()
        for op in (leader, standby):
            op.stop()
        if prom is not None:
            prom.stop()
        if policy is not None:
            admission = client.CustomObjectsApi(cluster.api)
            admission.delete_cluster_custom_object("admissionregistration.k8s.io", "v1",
                                                   "validatingadmissionpolicybindings", policy)
            admission.delete_cluster_custom_object("admissionregistration.k8s.io", "v1",
                                                   "validatingadmissionpolicies", policy)
        cluster.delete_namespace(namespace)
