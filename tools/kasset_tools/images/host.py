"""The build host: progress on stderr, fatal errors, machine facts and file-tree operations.

Does: report progress (`log`) and stop the build (`die`); tell the Debian/OCI/pip names of this machine's
architecture and the Debian mirror its apt uses; copy, re-date, hash and (mount-safely) delete file trees.
Does not: know what goes into an image (`recipe`, `inputs`), build a root filesystem (`rootfs`, `assemble`) or
write tars (`layer`). Standard library only, like the whole package.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from .recipe import EPOCH, SUITE

_t0 = time.monotonic()


def log(msg: str) -> None:
    """Print one progress line on stderr, with the seconds since the build started."""
    print(f"[build-images {time.monotonic() - _t0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> NoReturn:
    """Report an error and end the process with status 1."""
    log(f"ERROR: {msg}")
    sys.exit(1)


def measure_elapsed() -> float:
    """Seconds since the build started (module import)."""
    return time.monotonic() - _t0


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """subprocess.run, checked unless told otherwise."""
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


def hash_file(path: Path) -> str:
    """Hex SHA-256 of a file's content."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------- machine facts


def detect_deb_arch() -> str:
    """This machine's Debian architecture (amd64, arm64, ...)."""
    return run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()


def to_oci_arch(arch: str) -> str:
    """The OCI architecture name for a Debian one; only amd64 and arm64 are supported."""
    return {"amd64": "amd64", "arm64": "arm64"}.get(arch) or die(f"unsupported architecture {arch}")


def to_pip_arch(arch: str) -> str:
    """The machine name used in manylinux platform tags for a Debian architecture."""
    return {"amd64": "x86_64", "arm64": "aarch64"}[arch]


def _read_apt_entries() -> list[tuple[str, list[str], list[str]]]:
    """(uri, suites, components) of every enabled `deb` source, deb822 files first, then one-line files."""
    entries: list[tuple[str, list[str], list[str]]] = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in Path(path).read_text().split("\n\n"):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                k, _, v = line.partition(":")
                fields[k.strip().lower()] = v.strip()
            if fields.get("enabled", "yes") == "no" or "deb" not in fields.get("types", "").split():
                continue
            for uri in fields.get("uris", "").split():
                entries.append((uri, fields.get("suites", "").split(), fields.get("components", "").split()))
    for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        with contextlib.suppress(OSError):
            for line in Path(path).read_text().splitlines():
                parts = [p for p in line.split() if not p.startswith("[")]
                if len(parts) >= 4 and parts[0] == "deb":
                    entries.append((parts[1], [parts[2]], parts[3:]))
    return entries


def find_debian_mirror() -> str:
    """The Debian mirror this machine's apt uses for SUITE/main ($KASSET_DEBIAN_MIRROR overrides)."""
    if os.environ.get("KASSET_DEBIAN_MIRROR"):
        return os.environ["KASSET_DEBIAN_MIRROR"]
    for uri, suites, components in _read_apt_entries():
        if SUITE in suites and "main" in components and "security" not in uri:
            return uri.rstrip("/")
    return "http://deb.debian.org/debian"


# ---------------------------------------------------------------------------------------------------- file trees


def list_mounts_under(path: Path) -> list[str]:
    """Mount points at or below path (from /proc/self/mountinfo)."""
    prefix = str(path.resolve())
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4].replace("\\040", " ")
            if mnt == prefix or mnt.startswith(prefix + "/"):
                found.append(mnt)
    return found


def unmount_under(path: Path) -> None:
    """Lazily unmount everything mounted at or below path, deepest first."""
    for mnt in sorted(list_mounts_under(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], check=False)


def remove_tree(path: Path) -> None:
    """rm -rf that first unmounts anything debootstrap may have left mounted inside (never deletes through a mount)."""
    if not path.exists() and not path.is_symlink():
        return
    unmount_under(path)
    left = list_mounts_under(path)
    if left:
        die(f"refusing to delete {path}: still mounted: {left}")
    shutil.rmtree(path)


def set_mtimes(root: Path) -> None:
    """Every mtime under root := EPOCH (before compiling .pyc, so timestamp-based .pyc stay valid in the image)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (EPOCH, EPOCH), follow_symlinks=False)
    os.utime(root, (EPOCH, EPOCH), follow_symlinks=False)


def copy_tree(src: Path, dst: Path, skip: Callable[[Path], bool] = lambda p: False) -> list[Path]:
    """Copy regular files/dirs/symlinks from src into dst (modes and mtimes kept). Returns the copied files."""
    copied = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if not skip(Path(dirpath, d)))
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in sorted(filenames):
            s = Path(dirpath, name)
            if skip(s):
                continue
            d = dst / rel / name
            if s.is_symlink():
                os.symlink(os.readlink(s), d)
            else:
                shutil.copy2(s, d)
                copied.append(d)
    return copied


def list_source_files(base: Path) -> list[Path]:
    """Files of a package dir (no __pycache__, no .pyc/.pyo), or the module file itself, sorted."""
    if base.is_file():
        return [base]
    out = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        out += [Path(dirpath, f) for f in sorted(filenames) if not f.endswith((".pyc", ".pyo"))]
    return out
