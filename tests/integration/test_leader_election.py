"""Two operator replicas with leader election on a Lease: one leads and reconciles, the standby takes over
within 15 s when the leader is SIGKILLed (at once when it stops cleanly), and every Run completes exactly once.
With the leader's API traffic through a fault proxy (support.faultproxy) that blackholes it, the leader stops
leading (and exits) before the standby takes the Lease: never two leaders."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from kubernetes import client, watch
from urllib3.exceptions import ProtocolError

from support.clusterinfo import wait_for
from support.faultproxy import FaultProxy, proxied_kubeconfig, upstream_of
from support.kasset import Kasset, asset, kwok_container, run
from support.operator import OperatorProcess

LEASE = "kasset-it-leader"


def replica(name: str, namespace: str, kubeconfig: Path, tmp_path: Path) -> OperatorProcess:
    env = {"KASSET_LEADER_ELECT": "true", "KASSET_LEADER_ELECTION_NAMESPACE": namespace,
           "KASSET_LEADER_ELECTION_ID": LEASE, "POD_NAME": f"replica-{name}"}
    return OperatorProcess(kubeconfig=kubeconfig, namespace_pattern=namespace, node_kind="kwok",
                           log_path=tmp_path / f"operator-{name}.log", extra_env=env)


@pytest.fixture
def replicas(cluster, crds, tmp_path: Path):
    namespace = cluster.create_namespace("leader", prefix="itle")
    ops = {name: replica(name, namespace, cluster.kubeconfig, tmp_path) for name in ("a", "b")}
    for op in ops.values():
        op.start()
    try:
        yield namespace, ops
    finally:
        for op in ops.values():
            op.stop()
        cluster.delete_namespace(namespace)


@pytest.fixture
def proxied_leader(cluster, crds, tmp_path: Path):
    """Replica a, whose API traffic goes through a fault proxy, leads; replica b talks to the API server directly."""
    namespace = cluster.create_namespace("leader-faults", prefix="itle")
    proxy = FaultProxy(*upstream_of(cluster.kubeconfig)).start()
    kubeconfig = proxied_kubeconfig(cluster.kubeconfig, proxy, tmp_path / "kubeconfig-a")
    ops = {"a": replica("a", namespace, kubeconfig, tmp_path), "b": replica("b", namespace, cluster.kubeconfig, tmp_path)}
    try:
        ops["a"].start()
        wait_for(lambda: holder(cluster, namespace) == "replica-a", timeout=30, what="replica a to lead")
        ops["b"].start()
        yield namespace, ops, proxy
    finally:
        proxy.mode = "pass"
        for op in ops.values():
            op.stop()
        proxy.close()
        cluster.delete_namespace(namespace)


def holder(cluster, namespace: str) -> str | None:
    try:
        lease = client.CoordinationV1Api(cluster.api).read_namespaced_lease(LEASE, namespace)
    except client.ApiException:
        return None
    return lease.spec.holder_identity


class LeaseHolders:
    """Watches the Lease on a thread: (wall-clock time, holder) of every change seen."""

    def __init__(self, cluster, namespace: str):
        self.changes: list[tuple[float, str | None]] = []
        self._watch = watch.Watch()
        self._list = client.CoordinationV1Api(cluster.api).list_namespaced_lease
        self._thread = threading.Thread(target=self._run, args=(namespace,), daemon=True)
        self._thread.start()

    def _run(self, namespace: str) -> None:
        try:
            for event in self._watch.stream(self._list, namespace, field_selector=f"metadata.name={LEASE}",
                                            timeout_seconds=120):
                held = event["object"].spec.holder_identity
                if not self.changes or self.changes[-1][1] != held:
                    self.changes.append((time.time(), held))
        except ProtocolError:  # stop() closed the stream under it
            pass

    def first(self, identity: str) -> float | None:
        return next((at for at, held in self.changes if held == identity), None)

    def stop(self) -> None:
        self._watch.stop()


LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")


def logged_at(op: OperatorProcess, text: str) -> float | None:
    """The wall-clock time of the first line of `op`'s log that contains `text` (kopf's `[date time,ms]` prefix)."""
    for line in op.log_path.read_text(errors="replace").splitlines():
        if text in line and (match := LOG_TIME.match(line)):
            return datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return None


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


def test_a_leader_cut_off_from_the_api_server_stops_leading_before_the_standby_takes_over(cluster, proxied_leader):
    namespace, ops, proxy = proxied_leader
    kasset = Kasset(cluster, namespace)
    before = launch(kasset, "before", 2)
    assert_each_ran_once(cluster, kasset, namespace, before)  # replica a reconciles through the proxy
    holders = LeaseHolders(cluster, namespace)
    cut = time.time()
    proxy.mode = "blackhole"  # a's Lease renewal hangs, and every other call of a's
    during = launch(kasset, "during", 3)
    wait_for(lambda: ops["a"].exit_code is not None, timeout=30, what="replica a to stop leading and exit")
    wait_for(lambda: holders.first("replica-b"), timeout=30, what="replica b to take the Lease")
    holders.stop()
    stepped_down, b_leads = logged_at(ops["a"], "Stopped leading"), logged_at(ops["b"], "Became the leader")
    overlap = max(0.0, stepped_down - b_leads)
    print(f"\n[blackhole] a stopped leading {stepped_down - cut:.2f}s after the cut (and exited with "
          f"{ops['a'].exit_code}); b became the leader {b_leads - cut:.2f}s after it (Lease held by b seen "
          f"{holders.first('replica-b') - cut:.2f}s after it); two leaders for {overlap:.2f}s")
    assert ops["a"].exit_code == 1
    assert "Leadership lost" in ops["a"].log_tail(3)  # nothing reconciled after it: the process is gone
    assert stepped_down - cut <= 7 + 0.5  # the renew deadline, from a renewal before the cut
    assert overlap == 0
    assert_each_ran_once(cluster, kasset, namespace, during)
