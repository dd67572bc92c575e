"""The examples in manifests/examples run on the real node with the operator: each folder, applied with
`kubectl apply -n <namespace> -f`, makes its Run succeed, and the Assets record metadata and lineage.

Needs the `operator` fixture (the operator running against the cluster, step pods pinned to the real node)
and a default StorageClass that can bind the examples' claim (`kasset_tools.localcluster.storage` on the local
cluster, `standard` on kind).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.clusterinfo import WaitTimeout, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.realnode]

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"
RUN_TIMEOUT = 300
STATUS_TIMEOUT = 30


class RunFailed(AssertionError):
    pass


def run_name(folder: Path) -> str:
    """Name of the one Run in the example's manifests."""
    documents = [doc for path in sorted(folder.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]
    (name,) = [doc["metadata"]["name"] for doc in documents if doc and doc["kind"] == "Run"]
    return name


def get_json(cluster, namespace: str, *args: str) -> Any:
    done = cluster.kubectl("-n", namespace, "get", *args, "-o", "json", check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def succeeded_condition(run: dict[str, Any]) -> dict[str, Any] | None:
    conditions = run.get("status", {}).get("conditions", [])
    return next((c for c in conditions if c["type"] == "Succeeded"), None)


def describe(cluster, namespace: str) -> str:
    """What the namespace holds, for failure messages (PVC binding, pods, step Jobs)."""
    done = cluster.kubectl("-n", namespace, "get", "runs.kasset.dev,jobs.batch,pods,pvc", "-o", "wide", check=False)
    return done.stdout + done.stderr


def apply_example(cluster, namespace: str, name: str) -> dict[str, Any]:
    """Apply the example folder and wait for its Run to succeed; fail fast, with its status, if it fails."""
    folder = EXAMPLES / name
    done = cluster.kubectl("apply", "-n", namespace, "-f", str(folder), check=False)
    assert done.returncode == 0, done.stderr
    run = run_name(folder)

    def finished() -> dict[str, Any] | None:
        obj = get_json(cluster, namespace, "runs.kasset.dev", run)
        outcome = succeeded_condition(obj)
        if outcome is not None and outcome["status"] == "False":
            status = json.dumps(obj.get("status"), indent=1)
            raise RunFailed(f"Run {run} failed: {status}\n{describe(cluster, namespace)}")
        return obj if outcome is not None and outcome["status"] == "True" else None

    try:
        return wait_for(finished, timeout=RUN_TIMEOUT, what=f"Run {run} Succeeded", interval=0.5)
    except WaitTimeout as timeout:
        status = get_json(cluster, namespace, "runs.kasset.dev", run).get("status")
        details = f"status: {json.dumps(status, indent=1)}\n{describe(cluster, namespace)}"
        raise WaitTimeout(f"{timeout}\n{details}") from None


def steps_of(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in run["status"]["steps"]}


def logs_of(cluster, namespace: str, job_name: str) -> str:
    done = cluster.kubectl("-n", namespace, "logs", f"job/{job_name}", check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def assets_yaml(cluster, namespace: str) -> dict[str, dict[str, Any]]:
    """The namespace's Assets as `kubectl get assets.kasset.dev -o yaml` shows them, by name."""
    done = cluster.kubectl("-n", namespace, "get", "assets.kasset.dev", "-o", "yaml", check=False)
    assert done.returncode == 0, done.stderr
    return {item["metadata"]["name"]: item for item in yaml.safe_load(done.stdout)["items"]}


def materialized_by(cluster, namespace: str, run: str, *names: str) -> dict[str, dict[str, Any]]:
    """The Assets once each of `names` records a materialization by `run` (bounded wait)."""
    def recorded() -> dict[str, dict[str, Any]] | None:
        assets = assets_yaml(cluster, namespace)
        done = all(
            assets.get(name, {}).get("status", {}).get("lastMaterialization", {}).get("run") == run for name in names
        )
        return assets if done else None

    return wait_for(recorded, timeout=STATUS_TIMEOUT, what=f"lastMaterialization of {', '.join(names)} by {run}")


@pytest.fixture
def default_storage_class(cluster) -> str:
    classes = json.loads(cluster.kubectl("get", "storageclasses", "-o", "json").stdout)["items"]
    default = [
        sc["metadata"]["name"] for sc in classes
        if sc["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"
    ]
    if not default:
        pytest.fail("no default StorageClass: the examples' PersistentVolumeClaim could never bind "
                    "(kasset_tools.localcluster.storage.ensure_storage creates one on the local cluster)")
    return default[0]


def test_hello_runs_two_steps_and_salutation_reads_what_hello_wrote(
    cluster, namespace, real_node, operator, default_storage_class
):
    run = apply_example(cluster, namespace, "01-hello")
    steps = steps_of(run)
    assert [name for name in steps] == ["hello", "salutation"]
    assert all(step["state"] == "Succeeded" for step in steps.values()), steps
    assert "wrote 'Hello, Kasset!'" in logs_of(cluster, namespace, steps["hello"]["jobName"])
    salutation = logs_of(cluster, namespace, steps["salutation"]["jobName"])
    assert "read 'Hello, Kasset!' from /data/runs/hello-1/hello/greeting.txt" in salutation
    assert "Hello, Kasset! Kind regards, Kasset." in salutation
    assert steps["hello"]["metadata"] == {"greeting": "Hello, Kasset!", "name": "Kasset"}
    assert steps["salutation"]["metadata"]["characters"] == len(steps["salutation"]["metadata"]["salutation"])
    pods = cluster.core.list_namespaced_pod(namespace, label_selector="kasset.dev/run=hello-1").items
    assert {pod.spec.node_name for pod in pods} == {real_node}


def test_assets_record_num_records_preview_and_lineage(cluster, namespace, real_node, operator, default_storage_class):
    run = apply_example(cluster, namespace, "02-assets")
    name = run["metadata"]["name"]
    assert list(steps_of(run)) == ["raw-orders", "valid-orders"]
    assets = materialized_by(cluster, namespace, name, "raw-orders", "valid-orders")
    raw = assets["raw-orders"]["status"]["lastMaterialization"]
    valid = assets["valid-orders"]["status"]["lastMaterialization"]
    assert raw["metadata"]["num_rows"] == 120 and not raw.get("lineage")
    assert valid["metadata"]["num_records"] == 100
    preview = valid["metadata"]["preview"].splitlines()
    assert preview[0] == "| order_id | day | customer | product | quantity | amount |"
    assert preview[1].startswith("| --- |") and len(preview) == 2 + 5
    assert valid["codeVersion"] == "1"
    (lineage,) = valid["lineage"]
    assert lineage["asset"] == "raw-orders"
    assert lineage["run"] == name
    assert lineage["dataVersion"] == raw["dataVersion"] == steps_of(run)["raw-orders"]["dataVersion"]
    assert valid["dataVersion"] == steps_of(run)["valid-orders"]["dataVersion"]


def test_zip_fanout_processes_each_csv_as_one_index_of_one_indexed_job(
    cluster, namespace, real_node, operator, default_storage_class
):
    run = apply_example(cluster, namespace, "03-zip-fanout")
    name = run["metadata"]["name"]
    steps = steps_of(run)
    assert list(steps) == ["sales-archive", "unpack", "count-rows", "summarize"]
    assert all(step["state"] == "Succeeded" for step in steps.values()), steps
    assert steps["unpack"]["itemCount"] == 4
    assert steps["count-rows"]["itemCount"] == 4

    job = get_json(cluster, namespace, "jobs.batch", steps["count-rows"]["jobName"])
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == 4 and job["spec"]["parallelism"] == 2  # maxParallelSteps: 2
    assert job["status"]["succeeded"] == 4 and job["status"]["completedIndexes"] == "0-3"
    pods = cluster.core.list_namespaced_pod(namespace, label_selector=f"job-name={job['metadata']['name']}").items
    succeeded = [pod for pod in pods if pod.status.phase == "Succeeded"]
    indexes = sorted(int(pod.metadata.annotations["batch.kubernetes.io/job-completion-index"]) for pod in succeeded)
    assert indexes == [0, 1, 2, 3]
    files = sorted(json.loads(pod.status.container_statuses[0].state.terminated.message)["metadata"]["file"]
                   for pod in succeeded)
    assert files == ["sales-east.csv", "sales-north.csv", "sales-south.csv", "sales-west.csv"]

    assert "| **total** | **114** |" in logs_of(cluster, namespace, steps["summarize"]["jobName"])
    archive = materialized_by(cluster, namespace, name, "sales-archive")["sales-archive"]["status"]
    assert archive["lastMaterialization"]["metadata"]["files"] == 4
    assert archive["lastMaterialization"]["dataVersion"] == steps["sales-archive"]["dataVersion"]
