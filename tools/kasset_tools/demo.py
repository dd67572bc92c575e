"""`make demo` (`python -m kasset_tools.demo`): the main job, end to end, as a user deploys it.

1. Starts the local cluster when $KUBECONFIG is not set (its start builds the images, the operator's among them,
   and imports them into the real node's containerd).
2. Installs the Helm chart `charts/kasset` (release `kasset` in namespace `kasset-system`, serving namespace
   `kasset-demo` alone) with the locally built operator image, so the operator runs in the cluster: two
   replicas, one leader.
3. Applies `manifests/examples/02-assets` (two assets, the second reading the first's output) in namespace
   `kasset-demo`, waits for its Run, and shows what users see: the Run's steps and the Assets' metadata and
   lineage, straight from `status`; then where the operator's metrics are, with a few of them.

With $KUBECONFIG (e.g. kind), load the images into the cluster first (`images/README.md`); steps then run on
any node.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

from kasset.k8s import Kube, NotFound, connect
from kasset_tools.localcluster.layout import REPO, binaries

CHART = REPO / "charts" / "kasset"
EXAMPLE = REPO / "manifests" / "examples" / "02-assets"
RELEASE, SYSTEM = "kasset", "kasset-system"
NAMESPACE = "kasset-demo"
RUN = "orders-1"


def run_demo(*, timeout: float = 300) -> int:
    kubeconfig, local = _target()
    kubectl = [str(binaries().kubectl), f"--kubeconfig={kubeconfig}"]
    _fresh_namespace(kubectl)
    _install_chart(kubeconfig, local=local)
    subprocess.run([*kubectl, "apply", "-n", NAMESPACE, "-f", str(EXAMPLE)], check=True)
    kube = Kube(connect(str(kubeconfig)))
    run = _wait_for_run(kube, timeout=timeout)
    _show(kube, run, kubectl)
    _show_metrics(kubectl)
    return 0 if _outcome(run) == "True" else 1


def _target() -> tuple[Path, bool]:
    given = os.environ.get("KUBECONFIG")
    if given:
        return Path(given), False
    from kasset_tools.localcluster.cluster import Cluster

    cluster = Cluster()
    state = cluster.up()
    if not state.real_node:
        raise SystemExit(f"the demo runs the operator and the steps in real containers, and this machine has no "
                         f"real node: {state.real_node_skip_reason}")
    return cluster.kubeconfig, True


def _install_chart(kubeconfig: Path, *, local: bool) -> None:
    values = ["-f", str(CHART / "ci" / "local-values.yaml")] if local else []
    print(f"helm upgrade --install {RELEASE} charts/kasset -n {SYSTEM} (the operator runs in the cluster)")
    subprocess.run([str(binaries().helm), "upgrade", "--install", RELEASE, str(CHART), "-n", SYSTEM,
                    "--create-namespace", *values, "--set-json", f'watchNamespaces=["{NAMESPACE}"]',
                    "--wait", "--timeout", "300s", f"--kubeconfig={kubeconfig}"], check=True)


def _fresh_namespace(kubectl: list[str]) -> None:
    """Delete the demo namespace of an earlier demo (a Run runs once) and create it again."""
    subprocess.run([*kubectl, "delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true",
                    "--timeout=120s"], check=True)
    subprocess.run([*kubectl, "create", "namespace", NAMESPACE], check=True)


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


def _show_metrics(kubectl: list[str]) -> None:
    """Where the metrics are (the Service, and the leader pod's address), and a few of them."""
    pods = json.loads(subprocess.run([*kubectl, "get", "pods", "-n", SYSTEM, "-l", "app.kubernetes.io/name=kasset",
                                      "-o", "json"], check=True, capture_output=True, text=True).stdout)["items"]
    ips = [p["status"].get("podIP") for p in pods if p["status"].get("podIP")]
    print(f"\nmetrics: Service {RELEASE} in {SYSTEM}, port http (8080), path /metrics; "
          f"`kubectl -n {SYSTEM} port-forward svc/{RELEASE} 8080` elsewhere")
    for ip in ips:
        url = f"http://{ip}:8080/metrics"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                lines = response.read().decode().splitlines()
        except OSError as exc:
            print(f"  {url}: {exc}")
            continue
        shown = [line for line in lines if line.startswith(("kasset_leader ", "kasset_runs_finished_total",
                                                            "kasset_asset_last_materialization"))]
        print(f"  {url}\n" + "\n".join(f"    {line}" for line in shown))


if __name__ == "__main__":
    raise SystemExit(run_demo())
