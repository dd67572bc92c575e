"""Pods a stopped real node left behind: their processes and their network namespaces.

runc starts every container in a session of its own, so stopping the kubelet, containerd and its shims does not
end the containers; and containerd's CNI pins each pod's network namespace with a mount under /var/run/netns.
A container left running keeps its pod IP on the bridge. The next cluster's IPAM, which starts afresh, hands
the same IP to a new pod, and the two answer for one address: probes and Services then fail at random.

`sweep()` ends every process in the `/kubepods` cgroups (the kubelet's cgroupfs tree) and deletes the `cni-*`
network namespaces. Only one real node runs per machine (`realnode.why_not_possible`), so when no kubelet
runs, everything there is a leftover: the cluster's stop sweeps after its kubelet stopped, and a start sweeps
first, after a stop that never ran (a killed test session).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids/kubepods"), Path("/sys/fs/cgroup/kubepods"))  # cgroup v1, v2
NETNS_DIR = Path("/var/run/netns")


def pod_pids() -> set[int]:
    pids: set[int] = set()
    for root in CGROUP_ROOTS:
        for procs_file in root.rglob("cgroup.procs") if root.is_dir() else ():
            try:
                pids.update(int(pid) for pid in procs_file.read_text().split())
            except (OSError, ValueError):
                continue
    return pids


def kill_pods(*, timeout: float = 10.0) -> int:
    """SIGKILL every process in the pods' cgroups until none is left (bounded); the number killed."""
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while (pids := pod_pids()) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    return len(killed)


def delete_pod_netns() -> int:
    """Delete the `cni-*` network namespaces (their veths go with them); the number deleted."""
    names = sorted(p.name for p in NETNS_DIR.glob("cni-*")) if NETNS_DIR.is_dir() else []
    for name in names:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=30)
    return len(names)


def sweep(*, log=print) -> None:
    processes, namespaces = kill_pods(), delete_pod_netns()
    if processes or namespaces:
        log(f"ended {processes} leftover pod processes and {namespaces} pod network namespaces")
