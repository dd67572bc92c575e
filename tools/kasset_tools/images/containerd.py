"""Import the image tars into containerd's `k8s.io` namespace with `ctr`, skipping what is already there.

Does: tell the config digest (image ID) a tag has in containerd (`images ls`, then `content get` from index to
manifest to config), import a tar when that differs, check the result, and remove the previous image's CRI name
`sha256:<old id>` when nothing else uses it.
Does not: build tars, start containerd, or touch any namespace other than `k8s.io`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from .host import die, log, to_oci_arch

DEFAULT_CTR = "/root/.cache/kasset/debs/containerd-sid/usr/bin/ctr"
NAMESPACE = "k8s.io"


class Ctr:
    """`ctr --address <socket> --namespace k8s.io ...`."""

    def __init__(self, binary: str, address: str):
        self.binary, self.address = binary, address

    def __call__(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, "--address", self.address, "--namespace", NAMESPACE, *args],
                              capture_output=True, text=True, **kw)

    def read_config_digest(self, ref: str, arch: str) -> str | None:
        """Config digest (image ID) of ref in containerd, or None when absent."""
        full = ref if ref.count("/") >= 2 else f"docker.io/{ref}"
        r = self("images", "ls", f"name=={full}")
        if r.returncode != 0:
            die(f"ctr images ls failed: {r.stderr.strip()}")
        rows = [line.split() for line in r.stdout.splitlines()[1:] if line.strip()]
        if not rows:
            return None
        digest = rows[0][2]
        for _ in range(3):  # index -> manifest -> config
            c = self("content", "get", digest)
            if c.returncode != 0:
                return None
            doc = json.loads(c.stdout)
            if "manifests" in doc:
                plat = [m for m in doc["manifests"] if m.get("platform", {}).get("architecture") == to_oci_arch(arch)]
                if not plat:
                    return None
                digest = plat[0]["digest"]
            else:
                return doc.get("config", {}).get("digest")
        return None

    def list_rows(self) -> list[list[str]]:
        """`ctr images ls` rows, split on whitespace (name, type, digest, ...)."""
        r = self("images", "ls")
        return [line.split() for line in r.stdout.splitlines()[1:] if line.strip()]

    def remove_stale_id(self, old_id: str) -> None:
        """After a tag moved to a new image, drop the CRI's `sha256:<old id>` name if nothing else uses that image."""
        rows = self.list_rows()
        old = [row for row in rows if row[0] == old_id]
        if old and not any(row[0] != old_id and row[2] == old[0][2] for row in rows):
            self("images", "rm", old_id)
            log(f"removed the previous image {old_id[:19]} from containerd")

    def import_tar(self, tar: Path) -> None:
        """`ctr images import` a `docker save` tar; stop the build when it fails."""
        r = self("images", "import", str(tar))
        if r.returncode != 0:
            die(f"ctr images import {tar} failed: {(r.stdout + r.stderr).strip()}")


def import_images(results: list[dict], *, ctr_binary: str, address: str, arch: str) -> None:
    """Import each built image (dicts with ref, tar, id) unless containerd already has that ID for the tag."""
    t = time.monotonic()
    if not os.access(ctr_binary, os.X_OK):
        die(f"ctr not found at {ctr_binary} (set KASSET_CTR)")
    ctr = Ctr(ctr_binary, address)
    for info in results:
        have = ctr.read_config_digest(info["ref"], arch)
        if have == info["id"]:
            log(f"{info['ref']}: already in containerd (k8s.io), id {have[:19]}")
            continue
        ti = time.monotonic()
        ctr.import_tar(Path(info["tar"]))
        got = ctr.read_config_digest(info["ref"], arch)
        if got != info["id"]:
            die(f"{info['ref']}: after import containerd has id {got}, expected {info['id']}")
        if have:
            ctr.remove_stale_id(have)
        log(f"{info['ref']}: imported into {address} (k8s.io) in {time.monotonic() - ti:.1f}s")
    log(f"import: {time.monotonic() - t:.1f}s")
