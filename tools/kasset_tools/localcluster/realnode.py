"""The real node: containerd (Debian's, extracted) with runc, a bridge CNI network, and a kubelet.

Step pods scheduled here really run, so `kubectl logs`, termination messages and Pod Security admission
behave as on kind or a cloud cluster. Nothing can be pulled on these machines: the images come from
`python -m kasset_tools.images`, imported into containerd's `k8s.io` namespace, and pods use
`imagePullPolicy: Never`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from . import podsweep, procs, proxy
from .layout import Binaries

NODE_KIND_LABEL = "kasset.dev/node-kind"
PAUSE_IMAGE = "docker.io/kasset/pause:0.1.0"
POD_SUBNET = "10.88.0.0/24"
BRIDGE = "kasset0"
LEFTOVER_PROGRAMS = {"containerd-shim-runc-v2", "containerd", "kubelet", "kube-apiserver", "kube-controller-manager",
                     "kube-scheduler", "etcd", "kwok"}


def why_not_possible(bins: Binaries, cluster_dir: Path) -> str | None:
    """The reason a real node cannot run on this machine, or None."""
    if os.geteuid() != 0:
        return "the kubelet and containerd need root"
    other = running_kubelet_elsewhere(cluster_dir)
    if other:
        # two kubelets on one host would fight over the /kubepods cgroups, the pod network and /var/log/pods
        return (f"another local cluster's real node runs on this machine ({other}); "
                f"use that cluster (export KUBECONFIG=...) or stop it first")
    missing = [str(p) for p in (bins.k8s_tool("kubelet"), bins.containerd_bin / "containerd", bins.runc,
                                bins.cni / "bridge") if not os.access(p, os.X_OK)]
    if missing:
        return "missing: " + ", ".join(missing) + " (run `make tools`)"
    if not Path("/sys/fs/cgroup/memory").exists() and not Path("/sys/fs/cgroup/cgroup.controllers").exists():
        return "no memory cgroup controller is mounted"
    return None


def running_kubelet_elsewhere(cluster_dir: Path) -> str | None:
    """The root dir of a kubelet running on this machine for another cluster, if any."""
    ours = str(cluster_dir)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if argv and Path(argv[0]).name == "kubelet":
            root = next((a.split("=", 1)[1] for a in argv if a.startswith("--root-dir=")), "?")
            if not root.startswith(ours):
                return root
    return None


def _paths(cluster_dir: Path) -> dict[str, Path]:
    base = cluster_dir / "node"
    return {
        "base": base,
        "containerd": base / "containerd",
        "socket": base / "containerd" / "containerd.sock",
        "cni_conf": base / "cni" / "net.d",
        "cni_data": base / "cni" / "ipam",
        "kubelet": base / "kubelet",
    }


def containerd_config(p: dict[str, Path], bins: Binaries) -> str:
    return f"""version = 3
root = "{p['containerd']}/root"
state = "{p['containerd']}/state"

[grpc]
  address = "{p['socket']}"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "{PAUSE_IMAGE}"

[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  # these sandboxes lack CAP_SYS_RESOURCE: runc cannot lower a pod's oom_score_adj below containerd's own
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "{bins.runc}"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["{bins.cni}"]
    conf_dir = "{p['cni_conf']}"
"""


def cni_config(p: dict[str, Path]) -> dict:
    # The bridge is the pods' gateway: they reach the host (the API server, servers the tests start) and,
    # through kube-proxy's rules, Services; traffic leaving the node is masqueraded.
    return {
        "cniVersion": "1.0.0",
        "name": "kasset",
        "plugins": [
            {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "isDefaultGateway": True, "ipMasq": True,
             "ipam": {"type": "host-local", "dataDir": str(p["cni_data"]),
                      "ranges": [[{"subnet": POD_SUBNET}]]}},
            {"type": "loopback"},
        ],
    }


def kubelet_config(cluster_dir: Path, p: dict[str, Path], *, node_ip: str, port: int, healthz: int) -> dict:
    pki = cluster_dir / "pki"
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": node_ip,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz,
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(pki / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        "containerRuntimeEndpoint": f"unix://{p['socket']}",
        # this VM has cgroup v1 and no systemd: kubelet 1.35+ refuses v1 unless told otherwise
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        # disk is not guaranteed on these machines, and there is no registry to re-pull a collected image
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                         "nodefs.inodesFree": "1%"},
        "clusterDomain": "cluster.local",
        "resolvConf": "/etc/resolv.conf",
        "serializeImagePulls": False,
        "protectKernelDefaults": False,
        "enforceNodeAllocatable": [],
        "cgroupsPerQOS": True,
        "maxPods": 50,
    }


def start(cluster, *, node_name: str, node_ip: str, log=print) -> None:
    bins: Binaries = cluster.bins
    p = _paths(cluster.dir)
    for key in ("containerd", "cni_conf", "cni_data", "kubelet"):
        p[key].mkdir(parents=True, exist_ok=True)
    (p["base"] / "containerd.toml").write_text(containerd_config(p, bins))
    (p["cni_conf"] / "10-kasset.conflist").write_text(json.dumps(cni_config(p), indent=2))
    podsweep.sweep(log=log)  # no kubelet runs (why_not_possible): pods still running were left by a killed cluster
    env = {"PATH": f"{bins.containerd_bin}:{os.environ.get('PATH', '')}"}
    pid = procs.start("containerd", [str(bins.containerd_bin / "containerd"), "--config",
                                     str(p["base"] / "containerd.toml")], run_dir=cluster.run_dir, env=env)
    procs.wait_until(lambda: _ctr_ok(bins, p["socket"]), name="containerd", pid=pid,
                     log=cluster.run_dir / "containerd.log", timeout=30)
    import_images(p["socket"], log=log)

    port, healthz = procs.free_port(), procs.free_port()
    config = cluster.dir / "kubelet.yaml"
    config.write_text(yaml.safe_dump(kubelet_config(cluster.dir, p, node_ip=node_ip, port=port,
                                                     healthz=healthz)))
    argv = [
        str(bins.k8s_tool("kubelet")), f"--config={config}",
        f"--kubeconfig={cluster.dir / 'kubelet.kubeconfig'}", f"--root-dir={p['kubelet']}",
        f"--node-ip={node_ip}", f"--hostname-override={node_name}",
        f"--node-labels={NODE_KIND_LABEL}=real", "--v=1",
    ]
    pid = procs.start("kubelet", argv, run_dir=cluster.run_dir, env=env)
    procs.wait_until(lambda: procs.url_ok(f"http://127.0.0.1:{healthz}/healthz"), name="kubelet", pid=pid,
                     log=cluster.run_dir / "kubelet.log", timeout=60)
    if proxy.available(bins):
        log("starting kube-proxy (Services on the real node)")
        proxy.start(bins, cluster_dir=cluster.dir, run_dir=cluster.run_dir, node_name=node_name,
                    kubeconfig=cluster.dir / "kube-proxy.kubeconfig", cluster_cidr=POD_SUBNET)


def import_images(socket: Path, *, log=print) -> None:
    """Build (cached) and import the images pods need here: pause (every pod sandbox), step-python and
    step-aws (step code; boto3 in the latter), the operator (the Helm chart runs it in-cluster) and sqs-source
    (a Sensor's container source)."""
    log("importing images into containerd (built from Debian packages, cached)")
    subprocess.run([sys.executable, "-m", "kasset_tools.images", "--containerd-address", str(socket),
                    "--only", "pause", "--only", "step-python", "--only", "step-aws", "--only", "operator",
                    "--only", "sqs-source"], check=True,
                   stdout=subprocess.DEVNULL if os.environ.get("KASSET_QUIET") else None)


def _ctr_ok(bins: Binaries, socket: Path) -> bool:
    return subprocess.run([str(bins.containerd_bin / "ctr"), "--address", str(socket), "version"],
                          capture_output=True).returncode == 0


def cleanup(cluster_dir: Path) -> None:
    """After the daemons stopped: end leftovers (containerd shims, a daemon whose pid file was lost) that name
    this cluster's folder on their command line, the pods' containers and network namespaces (unless another
    cluster's kubelet runs: they are its pods), and unmount pod volumes."""
    marker = str(cluster_dir)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        program = Path(cmdline.split(" ", 1)[0]).name
        if marker in cmdline and program in LEFTOVER_PROGRAMS:
            try:
                os.killpg(int(proc.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    if os.geteuid() == 0 and running_kubelet_elsewhere(cluster_dir) is None:
        podsweep.sweep(log=lambda *_: None)
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(marker)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True)
