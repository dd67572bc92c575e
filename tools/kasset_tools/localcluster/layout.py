"""Where a local cluster keeps its files, and which pinned binaries it runs.

Versions come from `hack/versions.env` (the one place they are pinned); binaries from the cache that
`hack/build-k8s.sh` and `hack/install-debs.sh` fill. Nothing here starts a process.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


class MissingBinary(RuntimeError):
    """A binary the cluster needs is not built or installed yet."""


def read_versions(path: Path | None = None) -> dict[str, str]:
    path = path or Path(os.environ.get("KASSET_VERSIONS_FILE", REPO / "hack" / "versions.env"))
    versions = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            versions[key.strip()] = value.strip()
    return versions


def cache_dir() -> Path:
    return Path(os.environ.get("KASSET_CACHE", Path.home() / ".cache" / "kasset"))


@dataclass(frozen=True)
class Binaries:
    """Paths of every executable the cluster runs."""

    k8s: Path
    kwok: Path
    helm: Path
    etcd: Path
    containerd_bin: Path
    runc: Path
    cni: Path

    def k8s_tool(self, name: str) -> Path:
        return self.k8s / name

    @property
    def kubectl(self) -> Path:
        return self.k8s / "kubectl"

    def require(self, *names: str) -> None:
        paths = {
            "kube-apiserver": self.k8s_tool("kube-apiserver"),
            "kube-controller-manager": self.k8s_tool("kube-controller-manager"),
            "kube-scheduler": self.k8s_tool("kube-scheduler"),
            "kubelet": self.k8s_tool("kubelet"),
            "kubectl": self.kubectl,
            "kwok": self.kwok,
            "etcd": self.etcd,
            "containerd": self.containerd_bin / "containerd",
            "runc": self.runc,
        }
        missing = [f"{n} ({paths[n]})" for n in names if not os.access(paths[n], os.X_OK)]
        if missing:
            raise MissingBinary(
                "not built or installed yet: " + ", ".join(missing) + "; run `make tools` first"
            )


def binaries(versions: dict[str, str] | None = None) -> Binaries:
    v = versions or read_versions()
    cache = cache_dir()
    return Binaries(
        k8s=cache / "bin" / f"k8s-{v['K8S_VERSION']}",
        kwok=cache / "bin" / f"kwok-{v['KWOK_VERSION']}" / "kwok",
        helm=cache / "bin" / f"helm-{v['HELM_VERSION']}" / "helm",
        etcd=cache / "debs" / f"etcd-server-{v['ETCD_DEB_SUITE']}" / "usr" / "bin" / "etcd",
        containerd_bin=cache / "debs" / f"containerd-{v['CONTAINERD_DEB_SUITE']}" / "usr" / "bin",
        runc=Path(shutil.which("runc") or "/usr/sbin/runc"),
        cni=Path("/usr/lib/cni"),
    )


def default_cluster_dir() -> Path:
    """The cluster that `make cluster-up` manages; tests that start their own use a temporary one."""
    return Path(os.environ.get("KASSET_CLUSTER_DIR", REPO / ".kasset" / "cluster"))
