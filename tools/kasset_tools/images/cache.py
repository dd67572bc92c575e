"""The image cache under `${KASSET_CACHE:-~/.cache/kasset}/images/`: where things go, and who may write.

Layout: `<image>-<version>-<hash>.tar` (+ `.json` with ref, tar, id, size) per image; `base/` (Debian rootfs,
see `rootfs`), `pydeps/` (operator deps, see `pydeps`), `work/<image>.tmp/` (scratch, removed after each build),
`.lock` (held for the whole run, so two builds never write the same cache).
Does: locate and lock the cache, name an image's tar, read and write its metadata, drop the older tars of an
image, and provide a scratch folder. Does not: decide the hash (`inputs`) or build anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .host import remove_tree
from .inputs import ImageInputs


def locate_cache() -> Path:
    """`${KASSET_CACHE:-$HOME/.cache/kasset}/images`, created when missing."""
    cache = Path(os.environ.get("KASSET_CACHE") or Path.home() / ".cache/kasset") / "images"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def lock_cache(cache: Path) -> IO[str]:
    """Wait for, then hold, the cache's exclusive lock; it lasts while the returned file stays open."""
    lock = open(cache / ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def name_tar(cache: Path, img: ImageInputs) -> Path:
    """`<cache>/<image>-<version>-<hash of its inputs>.tar`."""
    return cache / f"{img.short}-{img.version}-{img.compute_digest()}.tar"


def read_cached(tar: Path) -> dict | None:
    """The metadata (ref, tar, id, size) of a tar built before, or None when the tar or its metadata is missing."""
    meta = tar.with_suffix(".json")
    if tar.exists() and meta.exists():
        return json.loads(meta.read_text())
    return None


def write_meta(tar: Path, info: dict) -> None:
    """Store a built tar's metadata next to it (`<tar minus .tar>.json`)."""
    tar.with_suffix(".json").write_text(json.dumps(info, indent=1) + "\n")


def drop_older_tars(cache: Path, short: str) -> None:
    """Delete every tar (and its metadata) of image `short`, before its new tar is written."""
    for old in cache.glob(f"{short}-*.tar"):
        old.unlink()
        old.with_suffix(".json").unlink(missing_ok=True)


@contextlib.contextmanager
def open_work_dir(cache: Path, short: str) -> Iterator[Path]:
    """A fresh, empty `<cache>/work/<image>.tmp/`, removed (mount-safely) afterwards, even on failure."""
    work = cache / "work" / f"{short}.tmp"
    remove_tree(work)
    work.mkdir(parents=True)
    try:
        yield work
    finally:
        remove_tree(work)
