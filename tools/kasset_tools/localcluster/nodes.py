"""Simulated nodes: kwok with Kasset's stage file, and the Node objects it manages.

kwok fakes the kubelet: it moves pods through the stages in `kwok-stages.yaml` without running anything.
Nodes carry `kasset.dev/node-kind=kwok` so tests choose them with a nodeSelector.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from . import procs
from .layout import Binaries

STAGES = Path(__file__).with_name("kwok-stages.yaml")
NODE_KIND_LABEL = "kasset.dev/node-kind"


def start_kwok(bins: Binaries, *, kubeconfig: Path, port: int, run_dir: Path) -> None:
    argv = [
        str(bins.kwok), f"--kubeconfig={kubeconfig}", f"--config={STAGES}",
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        # simulated nodes answer on loopback only: nothing is ever sent to a made-up address
        "--node-ip=127.0.0.1", f"--server-address=127.0.0.1:{port}",
        "--node-lease-duration-seconds=40",
    ]
    pid = procs.start("kwok", argv, run_dir=run_dir)
    procs.wait_until(lambda: procs.url_ok(f"http://127.0.0.1:{port}/healthz"), name="kwok", pid=pid,
                     log=run_dir / "kwok.log", timeout=30)


def kwok_node(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                NODE_KIND_LABEL: "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "spec": {},
    }


def create_kwok_nodes(kubectl: list[str], count: int) -> list[str]:
    names = [f"kwok-{i}" for i in range(count)]
    items = {"apiVersion": "v1", "kind": "List", "items": [kwok_node(n) for n in names]}
    subprocess.run([*kubectl, "apply", "-f", "-"], input=json.dumps(items), text=True, check=True,
                   capture_output=True)
    return names
