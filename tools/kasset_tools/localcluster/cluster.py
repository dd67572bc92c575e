"""One local cluster: bring it up, tear it down, tell its state.

`up` is idempotent: a cluster whose API server answers is left as it is. The state of a cluster lives in
one folder (certificates, kubeconfigs, etcd data, logs, pid files, `cluster.json`), so several clusters
can run side by side on free ports. The real node (kubelet + containerd) is optional: where it cannot run,
`cluster.json` records why, and tests that need it skip with that reason.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import control_plane, kubeconfig, nodes, pki, procs, proxy, storage
from .layout import Binaries, binaries, default_cluster_dir

DAEMONS = ["kube-proxy", "kubelet", "containerd", "kwok", "kube-scheduler", "kube-controller-manager",
           "kube-apiserver", "etcd"]  # stop order; start order is the reverse
KWOK_NODES = 2


@dataclass
class ClusterState:
    directory: str
    node_ip: str
    endpoints: dict
    kwok_nodes: list[str] = field(default_factory=list)
    real_node: str | None = None
    real_node_skip_reason: str | None = None
    started_seconds: float = 0.0

    @property
    def kubeconfig(self) -> Path:
        return Path(self.directory) / "kubeconfig"


class Cluster:
    def __init__(self, directory: Path | None = None, *, bins: Binaries | None = None):
        self.dir = Path(directory or default_cluster_dir()).resolve()
        self.bins = bins or binaries()
        self.run_dir = self.dir / "run"
        self.pki_dir = self.dir / "pki"

    # -- queries -------------------------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    def state(self) -> ClusterState | None:
        try:
            return ClusterState(**json.loads((self.dir / "cluster.json").read_text()))
        except FileNotFoundError:
            return None

    def running(self) -> dict[str, int | None]:
        return {name: procs.pid_of(name, self.run_dir) for name in reversed(DAEMONS)}

    def healthy(self) -> bool:
        state = self.state()
        if state is None or procs.pid_of("kube-apiserver", self.run_dir) is None:
            return False
        admin = pki.Pair(self.pki_dir / "admin.crt", self.pki_dir / "admin.key")
        server = f"https://127.0.0.1:{state.endpoints['apiserver']}"
        return control_plane.https_ok(f"{server}/readyz", ca=self.pki_dir / "ca.crt", client=admin)

    def kubectl(self) -> list[str]:
        return [str(self.bins.kubectl), f"--kubeconfig={self.kubeconfig}"]

    # -- lifecycle -----------------------------------------------------------------------------------

    def up(self, *, real_node: bool = True, log=print) -> ClusterState:
        if self.healthy():
            state = self.state()
            if state and state.real_node:
                recycled = storage.recycle_released(self.kubectl(), self.dir / "storage")
                log(f"recycled {recycled} released volume(s)" if recycled else "no released volumes to recycle")
            log(f"cluster already running: {self.kubeconfig}")
            return state  # type: ignore[return-value]
        self.down(log=lambda *_: None)
        self.bins.require("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok",
                          "kubectl")
        t0 = time.monotonic()
        for sub in ("run", "pki", "etcd"):
            shutil.rmtree(self.dir / sub, ignore_errors=True)
            (self.dir / sub).mkdir(parents=True)
        node_ip = detect_node_ip()
        node_name = socket.gethostname().lower()
        ep = control_plane.Endpoints(*(procs.free_port() for _ in range(5)))
        certs = pki.generate(self.pki_dir, node_name=node_name, node_ip=node_ip,
                             service_ip=control_plane.SERVICE_IP)
        kubeconfigs = {
            user: kubeconfig.write(self.dir / f"{stem}.kubeconfig", server=ep.server, ca=certs["ca"].cert,
                                   cert=certs[stem].cert, key=certs[stem].key, user=user)
            for stem, user in [("controller-manager", "kube-controller-manager"),
                               ("scheduler", "kube-scheduler"), ("kubelet", f"system:node:{node_name}"),
                               ("kube-proxy", "system:kube-proxy")]
        }
        kubeconfig.write(self.kubeconfig, server=ep.server, ca=certs["ca"].cert, cert=certs["admin"].cert,
                         key=certs["admin"].key, user="kasset-admin")
        state = ClusterState(directory=str(self.dir), node_ip=node_ip, endpoints=asdict(ep))
        self._save(state)

        log(f"starting etcd on 127.0.0.1:{ep.etcd}")
        control_plane.start_etcd(self.bins, ep, data_dir=self.dir / "etcd", run_dir=self.run_dir)
        log(f"starting kube-apiserver on {ep.server}")
        control_plane.start_apiserver(self.bins, ep, pki=self.pki_dir, node_ip=node_ip, run_dir=self.run_dir,
                                      admin=certs["admin"])
        log("starting kube-controller-manager and kube-scheduler")
        control_plane.start_controller_manager(self.bins, ep, pki=self.pki_dir,
                                               kubeconfig=kubeconfigs["kube-controller-manager"],
                                               run_dir=self.run_dir)
        control_plane.start_scheduler(self.bins, ep, kubeconfig=kubeconfigs["kube-scheduler"],
                                      run_dir=self.run_dir)
        log("starting kwok")
        nodes.start_kwok(self.bins, kubeconfig=self.kubeconfig, port=procs.free_port(), run_dir=self.run_dir)
        state.kwok_nodes = nodes.create_kwok_nodes(self.kubectl(), KWOK_NODES)
        if real_node:
            self._start_real_node(state, node_name=node_name, log=log)
        else:
            state.real_node_skip_reason = "the real node was not requested (KASSET_REAL_NODE=0)"
        self._wait_nodes_ready([*state.kwok_nodes, *([state.real_node] if state.real_node else [])])
        if state.real_node:  # a default StorageClass with a pool of hostPath volumes on the real node
            storage.ensure_storage(self.kubectl(), node_name=state.real_node, base_dir=self.dir / "storage")
        self._wait_default_service_account()
        state.started_seconds = round(time.monotonic() - t0, 2)
        self._save(state)
        log(f"cluster ready in {state.started_seconds}s: export KUBECONFIG={self.kubeconfig}")
        if state.real_node_skip_reason:
            log(f"no real node: {state.real_node_skip_reason}")
        return state

    def down(self, *, log=print) -> None:
        for name in DAEMONS:
            if procs.stop(name, self.run_dir):
                log(f"stopped {name}")
                if name == "kube-proxy":
                    proxy.cleanup(self.bins)
        from . import realnode

        realnode.cleanup(self.dir)

    def destroy(self) -> None:
        self.down(log=lambda *_: None)
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------------------

    def _save(self, state: ClusterState) -> None:
        (self.dir / "cluster.json").write_text(json.dumps(asdict(state), indent=2))

    def _start_real_node(self, state: ClusterState, *, node_name: str, log) -> None:
        from . import realnode

        reason = realnode.why_not_possible(self.bins, self.dir)
        if reason:
            state.real_node_skip_reason = reason
            return
        log("starting containerd and kubelet (real node)")
        try:
            realnode.start(self, node_name=node_name, node_ip=state.node_ip, log=log)
            state.real_node = node_name
        except procs.StartFailed as exc:
            state.real_node_skip_reason = f"the kubelet or containerd failed to start: {exc}"
            for name in ("kubelet", "containerd"):
                procs.stop(name, self.run_dir)

    def _wait_nodes_ready(self, names: list[str], timeout: float = 120) -> None:
        def ready() -> bool:
            out = subprocess.run(
                [*self.kubectl(), "get", "nodes", "-o",
                 "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=='Ready')].status} {end}"],
                capture_output=True, text=True,
            ).stdout
            states = dict(pair.split("=", 1) for pair in out.split())
            return all(states.get(n) == "True" for n in names)

        procs.wait_until(ready, name=f"nodes {names}", pid=None, log=None, timeout=timeout)

    def _wait_default_service_account(self, timeout: float = 60) -> None:
        def exists() -> bool:
            return subprocess.run([*self.kubectl(), "-n", "default", "get", "serviceaccount", "default"],
                                  capture_output=True).returncode == 0

        procs.wait_until(exists, name="the default ServiceAccount", pid=None, log=None, timeout=timeout)


def detect_node_ip() -> str:
    """The machine's first global IPv4 address: kube-apiserver refuses to advertise a loopback one."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            return parts[parts.index("inet") + 1].split("/")[0]
    raise RuntimeError("no global IPv4 address found (`ip -4 addr`); kube-apiserver needs one to advertise")
