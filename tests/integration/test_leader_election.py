"""Two operator replicas with leader election on a Lease: one leads and reconciles, the standby takes over
within 15 s when the leader is SIGKILLed (at once when it stops cleanly), and every Run completes exactly once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from kubernetes import client

from support.clusterinfo import wait_for
from support.kasset import Kasset, asset, kwok_container, run
from support.operator import OperatorProcess

LEASE = "kasset-it-leader"


@pytest.fixture
def replicas(cluster, crds, tmp_path: Path):
    namespace = cluster.create_namespace("leader", prefix="itle")
    env = {"KASSET_LEADER_ELECT": "true", "KASSET_LEADER_ELECTION_NAMESPACE": namespace,
           "KASSET_LEADER_ELECTION_ID": LEASE}
    ops = {}
    for name in ("a", "b"):
        ops[name] = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace_pattern=namespace, node_kind="kwok",
                                    log_path=tmp_path / f"operator-{name}.log",
                                    extra_env={**env, "POD_NAME": f"replica-{name}"})
        ops[name].start()
    try:
        yield namespace, ops
    finally:
        for op in ops.values():
            op.stop()
        cluster.delete_namespace(namespace)


def holder(cluster, namespace: str) -> str | None:
    try:
        lease = client.CoordinationV1Api(cluster.api).read_namespaced_lease(LEASE, namespace)
    except client.ApiException:
        return None
    return lease.spec.holder_identity


def launch(kasset: Kasset, prefix: str, count: int) -> list[str]:
    names = [f"{prefix}-{i}" for i in range(count)]
    kasset.create(*(asset(n, container=kwok_container(delay="2s")) for n in names),
                  *(run(f"run-{n}", assets=[n]) for n in names))
    return names


def assert_each_ran_once(cluster, kasset: Kasset, namespace: str, names: list[str]) -> None:
    for n in names:
        kasset.wait_run(f"run-{n}", timeout=120)
        jobs = cluster.batch.list_namespaced_job(namespace, label_selector=f"kasset.dev/run=run-{n}").items
        assert len(jobs) == 1 and jobs[0].status.succeeded == 1, n
        steps = kasset.get("runs", f"run-{n}")["status"]["steps"]
        assert [s["attempts"] for s in steps] == [1], n


def test_one_replica_leads_and_a_sigkilled_leader_is_replaced_within_15_seconds(cluster, replicas):
    namespace, ops = replicas
    kasset = Kasset(cluster, namespace)
    leader = wait_for(lambda: holder(cluster, namespace), timeout=30, what="a leader")
    standby = "b" if leader == "replica-a" else "a"
    first = launch(kasset, "before", 5)
    wait_for(lambda: len(cluster.batch.list_namespaced_job(namespace).items) == 5, timeout=60, what="5 step Jobs")
    assert "Became the leader" not in ops[standby].log_path.read_text()
    killed = time.monotonic()
    ops[leader.removeprefix("replica-")].kill()
    second = launch(kasset, "during", 5)
    wait_for(lambda: holder(cluster, namespace) == f"replica-{standby}", timeout=20, what="the standby to lead")
    took = time.monotonic() - killed
    print(f"\n[failover] SIGKILL -> standby leads after {took:.1f}s")
    assert took < 15
    assert_each_ran_once(cluster, kasset, namespace, first + second)


def test_a_cleanly_stopped_leader_releases_the_lease_to_the_standby_at_once(cluster, replicas):
    namespace, ops = replicas
    leader = wait_for(lambda: holder(cluster, namespace), timeout=30, what="a leader")
    standby = "b" if leader == "replica-a" else "a"
    stopped = time.monotonic()
    ops[leader.removeprefix("replica-")].stop()
    wait_for(lambda: holder(cluster, namespace) == f"replica-{standby}", timeout=10, what="the standby to lead")
    print(f"\n[handover] SIGTERM -> standby leads after {time.monotonic() - stopped:.1f}s")
    names = launch(Kasset(cluster, namespace), "after", 3)
    assert_each_ran_once(cluster, Kasset(cluster, namespace), namespace, names)
    assert json.loads(json.dumps(holder(cluster, namespace))) == f"replica-{standby}"
