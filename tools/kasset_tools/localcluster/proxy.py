"""The real node's Service network: kube-proxy (iptables mode) built from the same Kubernetes sources, so pods
reach the API server through the `kubernetes` Service (10.0.0.1:443) and other pods through ClusterIP Services,
as in any cluster. This is what lets the operator itself run in a pod (the Helm chart, `make demo`).

The host must forward and filter bridged traffic (`net.ipv4.ip_forward`, `net.bridge.bridge-nf-call-iptables`),
as kubeadm's preflight demands; the cluster's start sets both (root). There is no cluster DNS: pods use Service
IPs from the environment variables the kubelet injects.

`cleanup()` runs `kube-proxy --cleanup` after the process stopped, so a stopped cluster leaves no KUBE-* chains.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from . import procs
from .layout import Binaries

SYSCTLS = {"net/ipv4/ip_forward": "1", "net/bridge/bridge-nf-call-iptables": "1"}


def available(bins: Binaries) -> bool:
    return bins.k8s_tool("kube-proxy").exists()


def enable_forwarding() -> None:
    for key, value in SYSCTLS.items():
        path = Path("/proc/sys") / key
        if path.exists() and path.read_text().strip() != value:
            path.write_text(value)


def config(*, kubeconfig: Path, node_name: str, cluster_cidr: str, healthz: int, metrics: int) -> dict:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "mode": "iptables",
        "clusterCIDR": cluster_cidr,
        "hostnameOverride": node_name,
        "healthzBindAddress": f"127.0.0.1:{healthz}",
        "metricsBindAddress": f"127.0.0.1:{metrics}",
        # these VMs cannot raise conntrack limits: leave the kernel's as they are
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }


def start(bins: Binaries, *, cluster_dir: Path, run_dir: Path, kubeconfig: Path, node_name: str,
          cluster_cidr: str) -> None:
    enable_forwarding()
    healthz, metrics = procs.free_port(), procs.free_port()
    path = cluster_dir / "kube-proxy.yaml"
    path.write_text(yaml.safe_dump(config(kubeconfig=kubeconfig, node_name=node_name, cluster_cidr=cluster_cidr,
                                          healthz=healthz, metrics=metrics)))
    pid = procs.start("kube-proxy", [str(bins.k8s_tool("kube-proxy")), f"--config={path}", "--v=1"],
                      run_dir=run_dir)
    procs.wait_until(lambda: procs.url_ok(f"http://127.0.0.1:{healthz}/livez"), name="kube-proxy", pid=pid,
                     log=run_dir / "kube-proxy.log", timeout=60)


def cleanup(bins: Binaries) -> None:
    """Remove kube-proxy's iptables rules (after it stopped)."""
    if available(bins):
        subprocess.run([str(bins.k8s_tool("kube-proxy")), "--cleanup"], capture_output=True, timeout=60)
