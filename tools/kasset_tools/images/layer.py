"""Reproducible tars: one layer from a root filesystem, and the `docker save` image tar around it.

Does: write a layer tar whose bytes depend only on the tree's content (sorted entries, mtimes = EPOCH, numeric
owners, no device nodes, no setuid/setgid bits), and wrap it with its config JSON (`rootfs.diff_ids` = the layer's
digest) and `manifest.json` into a `docker save`-layout tar; the config digest is the image ID.
Does not: build the tree (`rootfs`, `assemble`), decide the config (`recipe`), or choose where tars go (`cache`).
Pure apart from reading the tree and writing the output file; no root needed.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

from .host import hash_file
from .recipe import EPOCH, encode_canonical_json

# Contents of these top-level directories never go into a layer (the runtime mounts them).
EMPTY_DIRS = {"dev", "proc", "sys", "tmp"}


def write_layer(rootfs: Path, out: Path) -> None:
    """Reproducible layer tar: entries sorted, mtimes = EPOCH, numeric owners only, no device/socket files.

    Setuid/setgid bits are dropped from files: the images run as non-root and never need su, mount or passwd."""
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(os.listdir(rootfs)):
            _add_entry(tar, rootfs, name)


def _add_entry(tar: tarfile.TarFile, rootfs: Path, rel: str) -> None:
    """Add rootfs/rel (and, for a directory outside EMPTY_DIRS, its entries in name order) to tar."""
    full = os.path.join(rootfs, rel)
    st = os.lstat(full)
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        return  # device nodes, fifos, sockets: the runtime provides /dev
    ti = tar.gettarinfo(full, arcname=rel)
    ti.mtime = EPOCH
    ti.uname = ti.gname = ""
    if ti.isreg():
        ti.mode &= ~0o6000
        with open(full, "rb") as f:
            tar.addfile(ti, f)
    else:
        tar.addfile(ti)
    if ti.isdir() and rel not in EMPTY_DIRS:
        for name in sorted(os.listdir(full)):
            _add_entry(tar, rootfs, f"{rel}/{name}")


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add a regular file with fixed mtime and mode 0644."""
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime, ti.mode = len(data), EPOCH, 0o644
    tar.addfile(ti, io.BytesIO(data))


def complete_config(config: dict, *, diff_id: str) -> bytes:
    """The config JSON (canonical bytes) with `rootfs.diff_ids` naming the one layer (hex digest diff_id)."""
    config = dict(config)
    config["rootfs"] = {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]}
    return encode_canonical_json(config)


def make_manifest(repo_tag: str, *, config_id: str, diff_id: str) -> list[dict]:
    """`manifest.json` of a `docker save` tar with one image of one layer."""
    return [{"Config": f"{config_id}.json", "RepoTags": [repo_tag], "Layers": [f"{diff_id}/layer.tar"]}]


def write_image_tar(out: Path, repo_tag: str, layer: Path, *, config: dict) -> str:
    """`docker save` layout around one layer, written to out via `<out>.tar.part`. Returns the image ID."""
    diff_id = hash_file(layer)
    config_bytes = complete_config(config, diff_id=diff_id)
    config_id = hashlib.sha256(config_bytes).hexdigest()
    repo, tag = repo_tag.rsplit(":", 1)
    manifest = make_manifest(repo_tag, config_id=config_id, diff_id=diff_id)
    tmp = out.with_suffix(".tar.part")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        d = tarfile.TarInfo(diff_id)
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, EPOCH
        tar.addfile(d)
        add_bytes(tar, f"{diff_id}/VERSION", b"1.0")
        ti = tar.gettarinfo(str(layer), arcname=f"{diff_id}/layer.tar")
        ti.mtime, ti.mode, ti.uid, ti.gid, ti.uname, ti.gname = EPOCH, 0o644, 0, 0, "", ""
        with open(layer, "rb") as f:
            tar.addfile(ti, f)
        add_bytes(tar, f"{config_id}.json", config_bytes)
        add_bytes(tar, "manifest.json", encode_canonical_json(manifest))
        add_bytes(tar, "repositories", encode_canonical_json({repo: {tag: diff_id}}))
    tmp.rename(out)
    return f"sha256:{config_id}"
