"""Asset checks on the real node: an asset writes a file, its blocking check (a real container using
`kasset.sdk.report_check`) reads that file at KASSET_OUTPUT_URI and fails, the downstream asset's step is
Skipped with the check's message, the Run fails with CheckFailed, and `kubectl get assets` shows the message.
A second, non-blocking check that exits 0 without reporting counts as passed.

(Named apart from tests/unit/test_checks.py: test modules share one import namespace.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.clusterinfo import wait_for
from support.objects import STEP_IMAGE

pytestmark = [pytest.mark.cluster, pytest.mark.realnode]

RUN_TIMEOUT = 300
STATUS_TIMEOUT = 60
STORAGE = "file:///data/assets/{asset}/{run}"

WRITE_ROWS = """
import os
from kasset import sdk
out = sdk.context().output_path()
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "rows.csv"), "w") as f:
    f.write("id,amount\\n1,10\\n,20\\n3,30\\n")
sdk.report(metadata={"rows": 3})
"""

CHECK_IDS = """
import csv, os
from kasset import sdk
path = os.path.join(sdk.context().output_path(), "rows.csv")
with open(path) as f:
    missing = [n for n, row in enumerate(csv.DictReader(f)) if not row["id"]]
print(f"read {path}", flush=True)
sdk.report_check(passed=not missing, message=f"{len(missing)} rows without id in {path}",
                 metadata={"missing": len(missing)})
"""


def python_container(script: str) -> dict[str, Any]:
    return {"image": STEP_IMAGE, "imagePullPolicy": "Never", "command": ["python3", "-c", script],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}


def checked_asset(name: str, script: str, *, deps: tuple[str, ...] = (), checks: list | None = None) -> dict:
    return {"apiVersion": "kasset.dev/v1alpha1", "kind": "Asset", "metadata": {"name": name},
            "spec": {"container": python_container(script), "deps": [{"asset": d} for d in deps],
                     "storage": STORAGE, "timeoutSeconds": 120, "checks": checks or [],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}}


def manifests() -> list[dict[str, Any]]:
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Mi"}}}}
    checks = [{"name": "ids-present", "blocking": True, "container": python_container(CHECK_IDS)},
              {"name": "quiet", "container": python_container("print('nothing to report')")}]
    run = {"apiVersion": "kasset.dev/v1alpha1", "kind": "Run", "metadata": {"name": "checked"},
           "spec": {"selection": {"assets": ["orders", "totals"]}}}
    return [claim, checked_asset("orders", WRITE_ROWS, checks=checks),
            checked_asset("totals", "print('must not run')", deps=("orders",)), run]


def get_json(cluster, namespace: str, *args: str) -> Any:
    done = cluster.kubectl("-n", namespace, "get", *args, "-o", "json", check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def condition(obj: dict, type_: str) -> dict | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == type_), None)


def container_env(cluster, namespace: str, job_name: str) -> dict[str, str]:
    job = cluster.batch.read_namespaced_job(job_name, namespace)
    return {e.name: e.value for e in job.spec.template.spec.containers[0].env or []}


def test_a_failing_blocking_check_skips_the_downstream_step_and_kubectl_get_shows_its_message(
    cluster, namespace, real_node, operator
):
    listing = {"apiVersion": "v1", "kind": "List", "items": manifests()}
    done = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(listing), check=False)
    assert done.returncode == 0, done.stderr

    def finished():
        run = get_json(cluster, namespace, "runs.kasset.dev", "checked")
        found = condition(run, "Succeeded")
        return run if found is not None and found["status"] in ("True", "False") else None

    run = wait_for(finished, timeout=RUN_TIMEOUT, what="Run checked finished", interval=1)
    steps = {step["name"]: step for step in run["status"]["steps"]}
    said = "1 rows without id in /data/assets/orders/checked/rows.csv"
    assert {name: step["state"] for name, step in steps.items()} == {
        "orders": "Succeeded", "orders-check-ids-present": "Failed", "orders-check-quiet": "Succeeded",
        "totals": "Skipped"}, steps
    assert steps["orders-check-ids-present"]["message"] == said
    assert steps["totals"]["message"] == f"not started: blocking check ids-present of asset orders failed: {said}"
    assert not steps["totals"].get("jobName")
    outcome = condition(run, "Succeeded")
    assert outcome["reason"] == "CheckFailed" and said in outcome["message"], outcome

    check_job = steps["orders-check-ids-present"]["jobName"]
    env = container_env(cluster, namespace, check_job)
    assert env["KASSET_ASSET"] == "orders" and env["KASSET_OUTPUT_URI"] == "file:///data/assets/orders/checked"
    assert env["KASSET_OUTPUT_URI"] == container_env(cluster, namespace, steps["orders"]["jobName"])[
        "KASSET_OUTPUT_URI"]
    (pod,) = cluster.core.list_namespaced_pod(namespace, label_selector="kasset.dev/check=ids-present").items
    assert pod.spec.node_name == real_node
    logs = cluster.kubectl("-n", namespace, "logs", pod.metadata.name).stdout
    assert "read /data/assets/orders/checked/rows.csv" in logs

    def shown():
        table = cluster.kubectl("-n", namespace, "get", "assets.kasset.dev", "orders", check=False)
        return table.stdout if said in table.stdout else None

    table = wait_for(shown, timeout=STATUS_TIMEOUT, what="the check's message in kubectl get assets", interval=1)
    header, row = table.splitlines()
    assert "CHECKS" in header and "CHECK-MESSAGE" in header
    assert row.split()[header.split().index("CHECKS")] == "False"
    results = {r["name"]: r for r in get_json(cluster, namespace, "assets.kasset.dev", "orders")["status"]["checks"]}
    assert (results["ids-present"]["outcome"], results["ids-present"]["metadata"]) == ("Failed", {"missing": 1})
    assert (results["quiet"]["outcome"], results["quiet"]["run"]) == ("Passed", "checked")
