"""How fast the local cluster moves Jobs: created → Complete on kwok and on the real node."""

from __future__ import annotations

import time

from support.clusterinfo import watch_until
from support.objects import job_condition, kwok_job, real_job
from support.stats import summary

SAMPLES = 20


def _created_to_complete(cluster, namespace: str, manifest: dict) -> float:
    name = manifest["metadata"]["name"]
    t0 = time.monotonic()
    cluster.batch.create_namespaced_job(namespace, manifest)
    watch_until(cluster.batch.list_namespaced_job, lambda j: j.metadata.name == name and job_condition(j, "Complete"),
                timeout=120, what=f"{name} Complete", namespace=namespace)
    return time.monotonic() - t0


def test_kwok_job_created_to_complete(cluster, namespace):
    samples = [_created_to_complete(cluster, namespace, kwok_job(f"bench-{i}")) for i in range(SAMPLES)]
    summary("kwok Job created->Complete", samples)


def test_real_node_pod_created_to_running_and_job_to_complete(cluster, real_node, namespace):
    complete, running = [], []
    for i in range(SAMPLES):
        name = f"real-{i}"
        t0 = time.monotonic()
        cluster.batch.create_namespaced_job(namespace, real_job(name, "print('x')"))
        watch_until(cluster.core.list_namespaced_pod,
                    lambda p: p.status.phase in ("Running", "Succeeded") or bool(
                        p.status.container_statuses and (p.status.container_statuses[0].state.running
                                                         or p.status.container_statuses[0].state.terminated)),
                    timeout=120, what=f"{name} pod started", namespace=namespace, label_selector=f"job-name={name}")
        running.append(time.monotonic() - t0)
        watch_until(cluster.batch.list_namespaced_job, lambda j: j.metadata.name == name and job_condition(j, "Complete"),
                    timeout=120, what=f"{name} Complete", namespace=namespace)
        complete.append(time.monotonic() - t0)
    summary("real node Job created->pod started", running)
    summary("real node Job created->Complete", complete)


def test_cluster_start_time(cluster):
    if cluster.local is None:
        print("BENCH cluster start: a given cluster was used; nothing measured")
        return
    print(f"BENCH cluster start (this session, to Ready nodes): {cluster.local.state().started_seconds}s")
