"""Local storage for the local cluster: a default StorageClass and a pool of hostPath PersistentVolumes.

The local cluster has no dynamic provisioner, so a PersistentVolumeClaim without `storageClassName` would stay
Pending forever. `ensure_storage` creates the StorageClass `standard` (kind's default name, marked default, no
provisioner, `WaitForFirstConsumer`) and `count` PersistentVolumes, each a directory under `base_dir` on the
real node, so that a claim binds to a free volume when its first pod is scheduled. Directories are mode 0o777
because hostPath volumes ignore `fsGroup`: step pods (uid 65532) must be able to write without ownership
management.

Volumes are `Retain`: deleting a claim (or its namespace) leaves the volume `Released` with its data.
`recycle_released` wipes those directories and makes the volumes `Available` again; call it before tests
that need fresh claims (each e2e namespace takes one volume).

Does not: provision on demand, enforce capacity (hostPath has no quota), or run anywhere but the machine
that holds `base_dir` (the real node's filesystem).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

STORAGE_CLASS = "standard"
POOL_LABEL = "kasset.dev/pool"
POOL = "local"
PV_PREFIX = "kasset-local-"
CAPACITY = "1Gi"
DIRECTORY_MODE = 0o777


def pv_name(index: int) -> str:
    """Name of the pool volume number `index` (also the name of its directory)."""
    return f"{PV_PREFIX}{index:03d}"


def storage_class() -> dict[str, Any]:
    """The default StorageClass: claims without a class get it; binding waits for the pod's node."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "labels": {POOL_LABEL: POOL},
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Retain",
    }


def persistent_volume(name: str, *, path: Path, node_name: str) -> dict[str, Any]:
    """One pool volume: a hostPath directory on `node_name`, usable by one claim at a time."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {POOL_LABEL: POOL}},
        "spec": {
            "storageClassName": STORAGE_CLASS,
            "capacity": {"storage": CAPACITY},
            "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "volumeMode": "Filesystem",
            "hostPath": {"path": str(path), "type": "Directory"},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [
                            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node_name]}
                        ]}
                    ]
                }
            },
        },
    }


def ensure_storage(kubectl: list[str], *, node_name: str, base_dir: Path, count: int = 40) -> None:
    """Create the default StorageClass and the volume pool if absent; existing volumes are left as they are.

    A volume created now gets an empty directory (leftovers of an earlier cluster in `base_dir` are wiped);
    the directories of existing volumes keep their data.
    """
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    existing = {item["metadata"]["name"] for item in list_pool_volumes(kubectl)}
    objects = [storage_class()]
    for index in range(count):
        name = pv_name(index)
        path = base_dir / name
        if name in existing:
            _make_directory(path)
            continue
        wipe_directory(path, base_dir=base_dir)
        objects.append(persistent_volume(name, path=path, node_name=node_name))
    _kubectl(kubectl, "apply", "-f", "-", input={"apiVersion": "v1", "kind": "List", "items": objects})


def recycle_released(kubectl: list[str], base_dir: Path) -> int:
    """Wipe every Released pool volume's directory and make the volume Available again; return how many."""
    base_dir = Path(base_dir)
    recycled = 0
    for item in list_pool_volumes(kubectl):
        if item.get("status", {}).get("phase") != "Released":
            continue
        wipe_directory(Path(item["spec"]["hostPath"]["path"]), base_dir=base_dir)
        patch = [{"op": "remove", "path": "/spec/claimRef"}]
        _kubectl(kubectl, "patch", "persistentvolume", item["metadata"]["name"], "--type=json",
                 f"--patch={json.dumps(patch)}")
        recycled += 1
    return recycled


def list_pool_volumes(kubectl: list[str]) -> list[dict[str, Any]]:
    """Every PersistentVolume of the pool, as JSON objects."""
    done = _kubectl(kubectl, "get", "persistentvolumes", "-l", f"{POOL_LABEL}={POOL}", "-o", "json")
    return json.loads(done.stdout)["items"]


def wipe_directory(path: Path, *, base_dir: Path) -> None:
    """Empty `path` (creating it if needed) and leave it world-writable; refuses paths outside `base_dir`."""
    path, base = Path(path).resolve(), Path(base_dir).resolve()
    if base not in path.parents:
        raise ValueError(f"refusing to wipe {path}: not inside the storage folder {base}")
    if path.is_dir():
        for child in path.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    _make_directory(path)


def _make_directory(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIRECTORY_MODE)  # mkdir's mode is masked by the umask


def _kubectl(kubectl: list[str], *args: str, input: Any = None) -> subprocess.CompletedProcess:
    text = json.dumps(input) if input is not None else None
    done = subprocess.run([*kubectl, *args], input=text, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args[:3])} failed: {done.stderr.strip()}")
    return done
