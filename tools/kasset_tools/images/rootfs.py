"""The shared Debian base: debootstrap minbase + python3, slimmed, user added, .pyc regenerated (cached).

Does: run debootstrap (root only) into `<cache>/base/<suite>-<arch>-<key>/rootfs`, strip what containers do not
need (apt lists and caches, logs, docs, man pages, locales), pin build-day dates, add the `kasset` user, and
byte-compile Python inside a chroot so the `.pyc` match the fixed mtimes. Also tells the `.pyc` format of a base.
Does not: add Kasset's own files (`assemble`), fetch Python packages (`pydeps`), or write tars (`layer`).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .host import die, find_debian_mirror, list_mounts_under, log, remove_tree, set_mtimes, unmount_under
from .recipe import BASE_PACKAGES, EPOCH, PYTHON, SUITE, USER, compute_base_key

SLIM_PATTERNS = [
    "var/cache/apt/archives/*.deb", "var/cache/apt/archives/partial/*", "var/cache/apt/*.bin",
    "var/lib/apt/lists/*", "var/cache/debconf/*-old", "var/lib/dpkg/*-old",
    "var/cache/ldconfig/aux-cache", "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*",
    "usr/share/lintian/*", "usr/share/linda/*", "usr/share/doc-base/*", "usr/share/i18n/*",
    "etc/hostname", "etc/resolv.conf", "run/*", "tmp/*", "var/tmp/*", "root/.*_history",
]
# Keeps later `apt-get install`s (e.g. FROM this image) just as slim, like Debian's own -slim images.
DPKG_SLIM = (
    "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\n"
    "path-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\npath-exclude /usr/share/lintian/*\n"
)


def name_base(arch: str) -> str:
    """The base's id, `<suite>-<arch>-<key>`: its cache folder name and an input of the images built on it."""
    return f"{SUITE}-{arch}-{compute_base_key(arch)}"


def slim_rootfs(rootfs: Path) -> None:
    """Strip what a container does not need: apt lists/caches, logs, docs (copyright files stay), man, locales."""
    r = rootfs
    for pattern in SLIM_PATTERNS:
        for p in glob.glob(str(r / pattern)):
            if os.path.isdir(p) and not os.path.islink(p):
                remove_tree(Path(p))
            else:
                os.unlink(p)
    (r / "run/lock").mkdir(mode=0o1777, exist_ok=True)
    os.chmod(r / "run/lock", 0o1777)
    for log_file in (r / "var/log").rglob("*"):
        if log_file.is_file():
            log_file.unlink()
    for doc in (r / "usr/share/doc").glob("*"):
        if doc.is_dir() and not doc.is_symlink():
            for p in doc.iterdir():
                if p.name != "copyright":
                    remove_tree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    (r / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    (r / "etc/dpkg/dpkg.cfg.d/kasset-slim").write_text(DPKG_SLIM)
    pin_password_dates(r)


def pin_password_dates(rootfs: Path) -> None:
    """Password-change dates are "today" after debootstrap: pin them so the base does not depend on the build day."""
    for name in ("etc/shadow", "etc/shadow-"):
        p = rootfs / name
        if p.exists():
            lines = []
            for line in p.read_text().splitlines():
                f = line.split(":")
                if len(f) > 2 and f[2]:
                    f[2] = str(EPOCH // 86400)
                lines.append(":".join(f))
            p.write_text("\n".join(lines) + "\n")


def add_user(rootfs: Path) -> None:
    """Add USER (passwd, group, shadow, gshadow) unless its uid exists, and create its home owned by it."""
    name, uid, gid, home = USER
    passwd = (rootfs / "etc/passwd").read_text()
    if f":{uid}:" not in passwd:
        (rootfs / "etc/passwd").write_text(passwd + f"{name}:x:{uid}:{gid}:Kasset:{home}:/bin/bash\n")
        with open(rootfs / "etc/group", "a") as f:
            f.write(f"{name}:x:{gid}:\n")
        with open(rootfs / "etc/shadow", "a") as f:
            f.write(f"{name}:!:{EPOCH // 86400}:0:99999:7:::\n")
        with open(rootfs / "etc/gshadow", "a") as f:
            f.write(f"{name}:!::\n")
    h = rootfs / home.lstrip("/")
    h.mkdir(parents=True, exist_ok=True)
    os.chmod(h, 0o755)
    os.chown(h, uid, gid)


def compile_in_chroot(rootfs: Path, dirs: list[str]) -> None:
    """Byte-compile dirs (paths inside rootfs) with the image's own python3, timestamp mode (sources at EPOCH)."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
    cmd = ["chroot", str(rootfs), "/usr/bin/python3", "-m", "compileall", "-q", "-f",
           "--invalidation-mode", "timestamp", *dirs]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:  # a few files in the stdlib are not Python 3 (lib2to3 test data); report, continue
        log(f"compileall in chroot reported problems (ignored): {(r.stdout + r.stderr).strip()[-400:]}")


def read_pyc_magic(rootfs: Path) -> bytes | None:
    """The magic number of the base's stdlib .pyc (the .pyc format its python3 reads), or None."""
    for pyc in (rootfs / f"usr/lib/{PYTHON}/__pycache__").glob("os.*.pyc"):
        return pyc.read_bytes()[:4]
    return None


def _debootstrap(rootfs: Path, *, arch: str, mirror: str) -> None:
    cmd = ["debootstrap", "--variant=minbase", f"--arch={arch}", "--components=main",
           f"--include={','.join(BASE_PACKAGES)}", SUITE, str(rootfs), mirror]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(r.stdout[-4000:], file=sys.stderr)
        p = rootfs / "debootstrap/debootstrap.log"
        if p.exists():
            print(p.read_text()[-4000:], file=sys.stderr)
        remove_tree(rootfs.parent)
        die("debootstrap failed")
    if list_mounts_under(rootfs):  # debootstrap unmounts on exit; be sure before copying the tree
        unmount_under(rootfs)


def build_base(cache: Path, arch: str, *, force: bool) -> Path:
    """debootstrap minbase + BASE_PACKAGES, cleaned, user added, .pyc regenerated; cached by suite + packages."""
    d = cache / "base" / name_base(arch)
    if (d / "ok").exists() and not force:
        log(f"base rootfs: cached {d}")
        return d / "rootfs"
    if not shutil.which("debootstrap"):
        die("debootstrap not found (apt-get install debootstrap)")
    if os.geteuid() != 0:
        die("building the Debian base needs root (debootstrap, chroot)")
    mirror = find_debian_mirror()
    t = time.monotonic()
    tmp = d.with_name(d.name + ".tmp")
    remove_tree(tmp)
    remove_tree(d)
    tmp.mkdir(parents=True)
    rootfs = tmp / "rootfs"
    log(f"base rootfs: debootstrap --variant=minbase {SUITE} from {mirror} (+{','.join(BASE_PACKAGES)})")
    _debootstrap(rootfs, arch=arch, mirror=mirror)
    log(f"base rootfs: debootstrap done in {time.monotonic() - t:.1f}s; cleaning")
    slim_rootfs(rootfs)
    add_user(rootfs)
    set_mtimes(rootfs)
    compile_in_chroot(rootfs, [f"/usr/lib/{PYTHON}", "/usr/lib/python3/dist-packages"])
    set_mtimes(rootfs)
    tmp.rename(d)
    (d / "ok").write_text(json.dumps({"suite": SUITE, "packages": BASE_PACKAGES, "mirror": mirror}) + "\n")
    log(f"base rootfs: built in {time.monotonic() - t:.1f}s: {d}")
    return d / "rootfs"
