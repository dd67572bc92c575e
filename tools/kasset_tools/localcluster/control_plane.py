"""The control plane of a local cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler.

Each is started as a process on free ports of 127.0.0.1 (kube-apiserver on every address, so pods on the real
node reach it through the `kubernetes` Service; it authenticates every request) with the flags a kubeadm cluster would
have where it matters to us (RBAC and Node authorization, service-account tokens, the real Job controller
and garbage collector). Waits on each one's health endpoint with a bounded poll.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from . import procs
from .layout import Binaries
from .pki import Pair

SERVICE_CIDR = "10.0.0.0/24"
SERVICE_IP = "10.0.0.1"

# Raised from the defaults (QPS 20 / burst 30 / 5 Job syncs), as for scale runs, so thousands of Jobs move in seconds.
KCM_QPS, KCM_BURST, KCM_JOB_SYNCS = 200, 400, 20


@dataclass
class Endpoints:
    etcd: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver}"


def https_ok(url: str, *, ca: Path | None, client: Pair | None = None) -> bool:
    # without `ca`: kcm and scheduler serve /healthz with self-signed certificates of their own
    ctx = ssl.create_default_context(cafile=str(ca)) if ca else ssl._create_unverified_context()
    if client:
        ctx.load_cert_chain(str(client.cert), str(client.key))
    return procs.url_ok(url, context=ctx)


def start_etcd(bins: Binaries, ep: Endpoints, *, data_dir: Path, run_dir: Path) -> None:
    client = f"http://127.0.0.1:{ep.etcd}"
    peer = f"http://127.0.0.1:{ep.etcd_peer}"
    argv = [
        str(bins.etcd), "--name=kasset", f"--data-dir={data_dir}",
        f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=kasset={peer}", "--initial-cluster-state=new",
        # test data only: a lost write on power failure is acceptable, fsync latency is not
        "--unsafe-no-fsync", "--quota-backend-bytes=4294967296", "--log-level=warn",
    ]
    pid = procs.start("etcd", argv, run_dir=run_dir)
    procs.wait_until(lambda: procs.url_ok(f"{client}/health"), name="etcd", pid=pid,
                     log=run_dir / "etcd.log", timeout=30)


def start_apiserver(bins: Binaries, ep: Endpoints, *, pki: Path, node_ip: str, run_dir: Path,
                    admin: Pair) -> None:
    argv = [
        str(bins.k8s_tool("kube-apiserver")),
        f"--etcd-servers=http://127.0.0.1:{ep.etcd}",
        "--bind-address=0.0.0.0", f"--secure-port={ep.apiserver}", f"--advertise-address={node_ip}",
        "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true", "--profiling=false",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
        f"--kubelet-certificate-authority={pki / 'ca.crt'}",
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
    ]
    pid = procs.start("kube-apiserver", argv, run_dir=run_dir)
    # upstream's own tests wait up to 60 s for /readyz on busy runners; the first start migrates storage
    procs.wait_until(
        lambda: https_ok(f"{ep.server}/readyz", ca=pki / "ca.crt", client=admin),
        name="kube-apiserver", pid=pid, log=run_dir / "kube-apiserver.log", timeout=120,
    )


def start_controller_manager(bins: Binaries, ep: Endpoints, *, pki: Path, kubeconfig: Path, run_dir: Path) -> None:
    argv = [
        str(bins.k8s_tool("kube-controller-manager")),
        f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1", f"--secure-port={ep.controller_manager}",
        "--leader-elect=false", "--use-service-account-credentials=true",
        f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
        f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
        f"--kube-api-qps={KCM_QPS}", f"--kube-api-burst={KCM_BURST}",
        f"--concurrent-job-syncs={KCM_JOB_SYNCS}",
    ]
    pid = procs.start("kube-controller-manager", argv, run_dir=run_dir)
    procs.wait_until(lambda: https_ok(f"https://127.0.0.1:{ep.controller_manager}/healthz", ca=None),
                     name="kube-controller-manager", pid=pid,
                     log=run_dir / "kube-controller-manager.log", timeout=60)


def start_scheduler(bins: Binaries, ep: Endpoints, *, kubeconfig: Path, run_dir: Path) -> None:
    argv = [
        str(bins.k8s_tool("kube-scheduler")),
        f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1", f"--secure-port={ep.scheduler}", "--leader-elect=false",
    ]
    pid = procs.start("kube-scheduler", argv, run_dir=run_dir)
    procs.wait_until(lambda: https_ok(f"https://127.0.0.1:{ep.scheduler}/healthz", ca=None),
                     name="kube-scheduler", pid=pid, log=run_dir / "kube-scheduler.log", timeout=60)
