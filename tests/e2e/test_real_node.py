"""Step pods really run on the real node (kubelet + containerd + runc) with images built here."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from support.clusterinfo import watch_until
from support.objects import STEP_IMAGE, job_condition, real_job

RESULT_SCRIPT = """
import json, sys
print("hello from a real pod", flush=True)
with open("/dev/termination-log", "w") as f:
    json.dump({"metadata": {"rows": 3}, "dataVersion": "v1"}, f)
"""


def finished(cluster, namespace: str, name: str, kind: str, timeout: float = 120):
    return watch_until(cluster.batch.list_namespaced_job,
                       lambda j: j.metadata.name == name and job_condition(j, kind),
                       timeout=timeout, what=f"Job {name} {kind}", namespace=namespace)


def only_pod(cluster, namespace: str, job: str):
    pods = cluster.core.list_namespaced_pod(namespace, label_selector=f"job-name={job}").items
    assert len(pods) == 1, [p.metadata.name for p in pods]
    return pods[0]


def test_python_step_completes_and_reports_through_termination_message_and_logs(cluster, real_node, namespace):
    cluster.batch.create_namespaced_job(namespace, real_job("hello", RESULT_SCRIPT))
    finished(cluster, namespace, "hello", "Complete")
    pod = only_pod(cluster, namespace, "hello")
    assert pod.spec.node_name == real_node
    terminated = pod.status.container_statuses[0].state.terminated
    assert terminated.exit_code == 0
    assert json.loads(terminated.message) == {"metadata": {"rows": 3}, "dataVersion": "v1"}
    logs = cluster.kubectl("-n", namespace, "logs", pod.metadata.name).stdout
    assert "hello from a real pod" in logs


def test_pod_exiting_1_fails_its_job_with_the_exit_code_in_pod_status(cluster, real_node, namespace):
    cluster.batch.create_namespaced_job(namespace, real_job("crash", "import sys; sys.exit(1)"))
    job = finished(cluster, namespace, "crash", "Failed")
    assert job.status.failed == 1
    pod = only_pod(cluster, namespace, "crash")
    assert pod.status.container_statuses[0].state.terminated.exit_code == 1


@pytest.fixture
def restricted_namespace(cluster):
    labels = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}
    name = cluster.create_namespace("restricted", labels=labels)
    yield name
    cluster.delete_namespace(name)


def test_restricted_namespace_runs_a_compliant_pod(cluster, real_node, restricted_namespace):
    cluster.batch.create_namespaced_job(restricted_namespace, real_job("compliant", "print('ok')"))
    finished(cluster, restricted_namespace, "compliant", "Complete")


def test_restricted_namespace_rejects_a_privileged_pod(cluster, real_node, restricted_namespace):
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged"},
        "spec": {"nodeSelector": {"kasset.dev/node-kind": "real"}, "containers": [{
            "name": "main", "image": STEP_IMAGE, "imagePullPolicy": "Never", "command": ["true"],
            "securityContext": {"privileged": True},
        }]},
    }
    with pytest.raises(client.ApiException) as err:
        cluster.core.create_namespaced_pod(restricted_namespace, pod)
    assert err.value.status == 403
    assert "violates PodSecurity" in err.value.body and "privileged" in err.value.body
