"""`make demo` (`python -m kasset_tools.demo`): the main job, end to end. Applies `manifests/examples/02-assets` (two assets, the second
reading the first's output) in namespace `kasset-demo`, runs the operator until the Run finishes, and shows
what users see: the Run's steps and the Assets' metadata and lineage, straight from `status`.

Uses the cluster in $KUBECONFIG; without one it starts the local cluster and pins steps to its real node.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from kubernetes import client

from kasset.cli import operator_argv, operator_env
from kasset.k8s import Kube, NotFound, connect
from kasset.k8s.crds import install_crds

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "manifests" / "examples" / "02-assets"
NAMESPACE = "kasset-demo"
RUN = "orders-1"


def run_demo(*, timeout: float = 300) -> int:
    kubeconfig, kubectl, node_selector = _target()
    api = connect(str(kubeconfig))
    print(f"CRDs installed: {', '.join(install_crds(api))}")
    _fresh_namespace(client.CoreV1Api(api))
    subprocess.run([*kubectl, "apply", "-n", NAMESPACE, "-f", str(EXAMPLE)], check=True)
    env = {"KASSET_STEP_NODE_SELECTOR": json.dumps(node_selector)} if node_selector else {}
    log_path = REPO / ".kasset" / "demo-operator.log"
    operator = start_operator(kubeconfig, log_path=log_path, namespace=NAMESPACE, env=env)
    try:
        run = _wait_for_run(Kube(api), timeout=timeout)
    finally:
        operator.terminate()
        operator.wait(timeout=30)
    _show(Kube(api), run, kubectl)
    print(f"\noperator log: {log_path}")
    return 0 if _outcome(run) == "True" else 1


def _target() -> tuple[Path, list[str], dict[str, str]]:
    given = os.environ.get("KUBECONFIG")
    if given:
        return Path(given), ["kubectl", f"--kubeconfig={given}"], {}
    from kasset_tools.localcluster.cluster import Cluster

    cluster = Cluster()
    state = cluster.up()
    if not state.real_node:
        raise SystemExit(f"the demo runs real containers, and this machine has no real node: "
                         f"{state.real_node_skip_reason}")
    return cluster.kubeconfig, cluster.kubectl(), {"kasset.dev/node-kind": "real"}


def _fresh_namespace(core: client.CoreV1Api, timeout: float = 120) -> None:
    """Delete the demo namespace of an earlier demo (a Run runs once) and create it again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            core.create_namespace({"metadata": {"name": NAMESPACE}})
            return
        except client.ApiException as exc:
            if exc.status != 409 or time.monotonic() > deadline:
                raise
        try:
            core.delete_namespace(NAMESPACE)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
        print(f"waiting for the namespace {NAMESPACE} of an earlier demo to go away")
        time.sleep(1)


def _outcome(run: dict) -> str | None:
    cond = next((c for c in (run.get("status") or {}).get("conditions") or [] if c["type"] == "Succeeded"), None)
    return cond["status"] if cond else None


def _wait_for_run(kube: Kube, *, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            run = kube.get("runs", NAMESPACE, RUN)
        except NotFound:
            run = {}
        progress = (run.get("status") or {}).get("progress")
        if progress != last:
            print(f"Run {RUN}: {progress or 'pending'}")
            last = progress
        if _outcome(run) in ("True", "False"):
            return run
        time.sleep(0.5)
    raise SystemExit(f"Run {RUN} did not finish within {timeout:.0f}s")


def _show(kube: Kube, run: dict, kubectl: list[str]) -> None:
    cond = next(c for c in run["status"]["conditions"] if c["type"] == "Succeeded")
    print(f"\nRun {RUN}: Succeeded={cond['status']} ({cond['reason']}: {cond.get('message', '')})")
    for step in run["status"].get("steps", []):
        print(f"  step {step['name']:<14} {step['state']:<10} job {step.get('jobName')}")
    print()
    subprocess.run([*kubectl, "get", "assets.kasset.dev", "-n", NAMESPACE], check=False)
    for raw in kube.list("assets", NAMESPACE):
        last = (raw.get("status") or {}).get("lastMaterialization") or {}
        print(f"\nAsset {raw['metadata']['name']}: dataVersion {last.get('dataVersion')} from Run {last.get('run')}")
        for key, value in (last.get("metadata") or {}).items():
            print(f"  metadata.{key}: {value}")
        for entry in last.get("lineage") or []:
            print(f"  lineage: consumed {entry['asset']} dataVersion {entry['dataVersion']} from Run {entry['run']}")


def start_operator(kubeconfig: Path, *, log_path: Path, namespace: str | None = None,
                   env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.Popen:
    """Start the operator as a child process and wait (bounded) until it logs that it is ready."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(operator_argv(), stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **operator_env(namespace), **(env or {}),
                                     "KUBECONFIG": str(kubeconfig)})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if b"Kasset operator ready" in log_path.read_bytes():
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"the operator exited with {proc.returncode}; see {log_path}")
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"the operator did not get ready within {timeout}s; see {log_path}")
if __name__ == "__main__":
    raise SystemExit(run_demo())
