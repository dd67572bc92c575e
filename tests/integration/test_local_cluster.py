"""The local cluster behaves like a real one: the Job controller, garbage collector and kwok stages work."""

from __future__ import annotations

from kubernetes import client

from support.clusterinfo import wait_for, watch_until
from support.objects import job_condition, kwok_job


def test_job_on_kwok_node_reaches_complete(cluster, namespace):
    cluster.batch.create_namespaced_job(namespace, kwok_job("ok"))
    job = watch_until(cluster.batch.list_namespaced_job, lambda j: j.metadata.name == "ok"
                      and job_condition(j, "Complete"), timeout=60, what="Job ok Complete", namespace=namespace)
    assert job.status.succeeded == 1
    pods = cluster.core.list_namespaced_pod(namespace, label_selector="job-name=ok").items
    assert pods and pods[0].spec.node_name in cluster.kwok_nodes


def test_job_whose_pod_carries_the_fail_label_reaches_failed(cluster, namespace):
    cluster.batch.create_namespaced_job(namespace, kwok_job("bad", fail=True))
    job = watch_until(cluster.batch.list_namespaced_job, lambda j: j.metadata.name == "bad"
                      and job_condition(j, "Failed"), timeout=60, what="Job bad Failed", namespace=namespace)
    assert job.status.failed == 1
    assert not job_condition(job, "Complete")


def test_deleting_a_job_garbage_collects_its_pods(cluster, namespace):
    cluster.batch.create_namespaced_job(namespace, kwok_job("gc", delay="1h"))
    wait_for(lambda: cluster.core.list_namespaced_pod(namespace, label_selector="job-name=gc").items,
             timeout=60, what="the Job's pod")
    cluster.batch.delete_namespaced_job("gc", namespace, propagation_policy="Background")
    wait_for(lambda: not cluster.core.list_namespaced_pod(namespace, label_selector="job-name=gc").items,
             timeout=60, what="the garbage collector to delete the pod")
    try:
        cluster.batch.read_namespaced_job("gc", namespace)
        raise AssertionError("the Job still exists")
    except client.ApiException as exc:
        assert exc.status == 404
