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
    """Wait until Job `name` has finished, and assert it finished as `kind` (Complete or Failed).

    Either ending stops the wait, so a Job that failed is reported at once, with its pod's logs.
    """
    def ended(job) -> bool:
        return job.metadata.name == name and (job_condition(job, "Complete") or job_condition(job, "Failed"))

    job = watch_until(cluster.batch.list_namespaced_job, ended, timeout=timeout, what=f"Job {name} finished",
                      namespace=namespace)
    if not job_condition(job, kind):
        logs = cluster.kubectl("-n", namespace, "logs", f"job/{name}", check=False)
        raise AssertionError(f"Job {name} did not finish {kind}; its pod logged:\n{logs.stdout}{logs.stderr}")
    return job


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


API_SCRIPT = """
import json, os, ssl, urllib.request
sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
tls = ssl.create_default_context(cafile=sa + "ca.crt")
url = f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}/version"
request = urllib.request.Request(url, headers={"Authorization": "Bearer " + open(sa + "token").read()})
print(json.load(urllib.request.urlopen(request, context=tls, timeout=10))["gitVersion"], flush=True)
"""

# A new endpoint reaches kube-proxy's rules a moment after the pod is Ready (the EndpointSlice is written, then
# kube-proxy syncs), as in every cluster: the client retries, as any client of a fresh Service must, for 60 s.
SERVICE_CLIENT_SCRIPT = """
import os, sys, time, urllib.request
url = f"http://{os.environ['ECHO_SERVICE_HOST']}:{os.environ['ECHO_SERVICE_PORT']}/"
deadline = time.monotonic() + 60
while True:
    try:
        print(urllib.request.urlopen(url, timeout=10).read().decode()[:200], flush=True)
        break
    except OSError as err:
        print(f"{url}: {err!r}", file=sys.stderr, flush=True)
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
"""


def test_a_pod_reaches_the_api_server_through_the_kubernetes_service_verifying_tls(cluster, real_node, namespace):
    """kube-proxy routes 10.0.0.1:443 to the API server: what the operator needs to run in a pod."""
    job = real_job("api", API_SCRIPT)
    job["spec"]["template"]["spec"]["automountServiceAccountToken"] = True
    cluster.batch.create_namespaced_job(namespace, job)
    finished(cluster, namespace, "api", "Complete")
    pod = only_pod(cluster, namespace, "api")
    assert cluster.kubectl("-n", namespace, "logs", pod.metadata.name).stdout.startswith("v1.")


def test_a_pod_reaches_another_pod_through_a_clusterip_service(cluster, real_node, namespace):
    server = real_job("echo", "import http.server, os; os.chdir('/etc'); "
                              "http.server.test(HandlerClass=http.server.SimpleHTTPRequestHandler, port=8000)")
    server["spec"]["template"]["metadata"] = {"labels": {"app": "echo"}}
    server["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "tcpSocket": {"port": 8000}, "periodSeconds": 1}  # Ready (an endpoint) once it listens
    cluster.batch.create_namespaced_job(namespace, server)
    cluster.core.create_namespaced_service(namespace, {
        "metadata": {"name": "echo"},
        "spec": {"selector": {"app": "echo"}, "ports": [{"port": 80, "targetPort": 8000}]}})
    watch_until(cluster.core.list_namespaced_pod, lambda p: any(
        c.type == "Ready" and c.status == "True" for c in (p.status.conditions or [])), timeout=60,
        what="the echo pod Ready", namespace=namespace, label_selector="app=echo")
    cluster.batch.create_namespaced_job(namespace, real_job("client", SERVICE_CLIENT_SCRIPT))
    finished(cluster, namespace, "client", "Complete")
    logs = cluster.kubectl("-n", namespace, "logs", "job/client").stdout
    assert "Directory listing" in logs, logs
