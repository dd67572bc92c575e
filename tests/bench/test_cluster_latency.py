"""How fast the local cluster itself moves Jobs, without Kasset: created → Complete on kwok and on the real node.

Context for the other figures (no goals): what one Job costs the cluster, one at a time.
"""

from __future__ import annotations

import time

import pytest

from support.benchload import FirstSeen, has_condition
from support.benchresults import Figure, percentile
from support.objects import kwok_job, real_job

pytestmark = pytest.mark.bench
SAMPLES = 20


def created_to_complete(cluster, namespace: str, manifest: dict) -> float:
    """Seconds from creating the Job `manifest` until the test's watch sees it Complete."""
    name = manifest["metadata"]["name"]
    with FirstSeen(cluster.batch.list_namespaced_job, namespace, predicate=lambda j: has_condition(j, "Complete"),
                   field_selector=f"metadata.name={name}") as seen:
        t0 = time.monotonic()
        cluster.batch.create_namespaced_job(namespace, manifest)
        assert seen.wait(1, timeout=120), f"{name}: not Complete within 120s"
    return seen.times[name] - t0


def test_kwok_job_created_to_complete(cluster, namespace, bench_results):
    samples = [created_to_complete(cluster, namespace, kwok_job(f"bench-{i}")) for i in range(SAMPLES)]
    bench_results.record(Figure(
        key="kwok-job-latency", benchmark="kwok Job created → Complete (no Kasset, one at a time)",
        value=percentile(samples, 0.5), unit="s (median)", samples=samples, note=f"{SAMPLES} Jobs, pods run 300 ms",
        scale=1))


def pod_started(pod: dict) -> bool:
    status = pod.get("status") or {}
    states = [c.get("state") or {} for c in status.get("containerStatuses") or []]
    return status.get("phase") in ("Running", "Succeeded") or any("running" in s or "terminated" in s for s in states)


def test_real_node_pod_created_to_running_and_job_to_complete(cluster, real_node, namespace, bench_results):
    started, complete = [], []
    for i in range(SAMPLES):
        name = f"real-{i}"
        with FirstSeen(cluster.core.list_namespaced_pod, namespace, predicate=pod_started,
                       label_selector=f"job-name={name}") as pods:
            complete.append(created_to_complete(cluster, namespace, real_job(name, "print('x')")))
            assert pods.wait(1, timeout=10), f"{name}: no started pod seen"
            started.append(min(pods.times.values()) - (min(pods.created.values())))
    bench_results.record(Figure(
        key="real-node-job-latency", benchmark="Real-node Job created → Complete (no Kasset, one at a time)",
        value=percentile(complete, 0.5), unit="s (median)", samples=complete, note=f"{SAMPLES} Jobs, `print('x')`",
        details={"pod created → started, median (s)": percentile(started, 0.5)}, scale=1))


def test_cluster_start_time(cluster, bench_results):
    if cluster.local is None:
        print("BENCH cluster start: a given cluster was used; nothing measured")
        return
    bench_results.record(Figure(
        key="cluster-start", benchmark="Local cluster start (this session, to Ready nodes)",
        value=cluster.local.state().started_seconds, unit="s", scale=1))
