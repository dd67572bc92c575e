#!/usr/bin/env python3
"""Build Kasset's container images from Debian packages, without Docker or a registry.

Images (tags follow the project version in pyproject.toml):

  kasset/pause:<version>        busybox-static; the pod sandbox ("pause") image
  kasset/step-python:<version>  Debian bookworm (debootstrap minbase) + python3 + `kasset.sdk`, user 1000:1000
  kasset/operator:<version>     the same base + the kasset package and its pinned deps from PyPI, user 1000:1000

Each image is written as a `docker save`-layout tar (manifest.json, config JSON, one uncompressed layer) into
`${KASSET_CACHE:-$HOME/.cache/kasset}/images/`, named after a hash of its inputs; an existing tar for the same hash
is reused. With `--containerd-address` (or $CONTAINERD_ADDRESS) every tar is imported into containerd's `k8s.io`
namespace with `ctr` ($KASSET_CTR), unless the image is already there with the same config digest (image ID).

Needs: root (debootstrap, chroot), debootstrap, busybox-static, network access to the Debian mirror and PyPI.
Standalone: only python3 (>= 3.11) and its standard library. See images/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import importlib.util
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()

SUITE = "bookworm"
# Added to debootstrap's minbase set. python3 pulls python3.11 + libpython3.11-stdlib; ca-certificates so that
# step code can talk HTTPS. coreutils, dash, bash, grep, sed, tar, findutils come with minbase.
BASE_PACKAGES = ["python3", "ca-certificates"]
# Bump when the base recipe (cleanup, users, compile step) changes: part of the base cache key.
BASE_RECIPE = 3
PYTHON = "python3.11"
SITE = f"usr/local/lib/{PYTHON}/dist-packages"  # on Debian's sys.path; Debian's name for site-packages
USER = ("kasset", 1000, 1000, "/home/kasset")
PAUSE_USER = "65535:65535"
# Fixed mtime for every file (2024-01-01T00:00:00Z): layer tars and .pyc files do not depend on the build time.
EPOCH = 1704067200
CREATED = "2024-01-01T00:00:00Z"
ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PAUSE_SCRIPT = 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done'
DEFAULT_CTR = "/root/.cache/kasset/debs/containerd-sid/usr/bin/ctr"
# Contents of these top-level directories never go into a layer (the runtime mounts them).
EMPTY_DIRS = {"dev", "proc", "sys", "tmp"}

_t0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[build-images {time.monotonic() - _t0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> None:
    log(f"ERROR: {msg}")
    sys.exit(1)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def canonical_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------------- host facts


def deb_arch() -> str:
    return run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()


def oci_arch(arch: str) -> str:
    return {"amd64": "amd64", "arm64": "arm64"}.get(arch) or die(f"unsupported architecture {arch}")


def pip_arch(arch: str) -> str:
    return {"amd64": "x86_64", "arm64": "aarch64"}[arch]


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses for SUITE/main ($KASSET_DEBIAN_MIRROR overrides)."""
    if os.environ.get("KASSET_DEBIAN_MIRROR"):
        return os.environ["KASSET_DEBIAN_MIRROR"]
    entries: list[tuple[str, list[str], list[str]]] = []  # (uri, suites, components)
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
    for uri, suites, components in entries:
        if SUITE in suites and "main" in components and "security" not in uri:
            return uri.rstrip("/")
    return "http://deb.debian.org/debian"


def project() -> dict:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data["project"]


# ---------------------------------------------------------------------------------------------------- filesystem


def mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4].replace("\\040", " ")
            if mnt == prefix or mnt.startswith(prefix + "/"):
                found.append(mnt)
    return found


def safe_rmtree(path: Path) -> None:
    """rm -rf that first unmounts anything debootstrap may have left mounted inside (never deletes through a mount)."""
    if not path.exists() and not path.is_symlink():
        return
    for mnt in sorted(mounts_under(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], check=False)
    left = mounts_under(path)
    if left:
        die(f"refusing to delete {path}: still mounted: {left}")
    shutil.rmtree(path)


def set_mtimes(root: Path) -> None:
    """Every mtime under root := EPOCH (before compiling .pyc, so timestamp-based .pyc stay valid in the image)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (EPOCH, EPOCH), follow_symlinks=False)
    os.utime(root, (EPOCH, EPOCH), follow_symlinks=False)


def copy_tree(src: Path, dst: Path, skip=lambda p: False) -> list[Path]:
    """Copy regular files/dirs/symlinks from src into dst (root-owned, modes kept). Returns copied files."""
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


def source_files(base: Path) -> list[Path]:
    """Python source files of a package dir or module (no caches), sorted."""
    if base.is_file():
        return [base]
    out = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        out += [Path(dirpath, f) for f in sorted(filenames) if not f.endswith((".pyc", ".pyo"))]
    return out


def pyc_magic_of_rootfs(rootfs: Path) -> bytes | None:
    for pyc in (rootfs / f"usr/lib/{PYTHON}/__pycache__").glob("os.*.pyc"):
        return pyc.read_bytes()[:4]
    return None


def compile_in_chroot(rootfs: Path, dirs: list[str]) -> None:
    """Byte-compile dirs (paths inside rootfs) with the image's own python3, timestamp mode (sources at EPOCH)."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
    cmd = ["chroot", str(rootfs), "/usr/bin/python3", "-m", "compileall", "-q", "-f",
           "--invalidation-mode", "timestamp", *dirs]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:  # a few files in the stdlib are not Python 3 (lib2to3 test data); report, continue
        log(f"compileall in chroot reported problems (ignored): {(r.stdout + r.stderr).strip()[-400:]}")


# ---------------------------------------------------------------------------------------------------- tar writing


def write_layer(rootfs: Path, out: Path) -> None:
    """Reproducible layer tar: entries sorted, mtimes = EPOCH, numeric owners only, no device/socket files.

    Setuid/setgid bits are dropped from files: the images run as non-root and never need su, mount or passwd."""
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:

        def add(rel: str) -> None:
            full = os.path.join(rootfs, rel)
            st = os.lstat(full)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                return  # device nodes, fifos, sockets: the runtime provides /dev
            ti = tar.gettarinfo(full, arcname=rel)
            ti.mtime = EPOCH
            ti.uname = ti.gname = ""
            if ti.isreg():
                ti.mode &= ~0o6000
            if ti.isreg():
                with open(full, "rb") as f:
                    tar.addfile(ti, f)
            else:
                tar.addfile(ti)
            if ti.isdir() and rel not in EMPTY_DIRS:
                for name in sorted(os.listdir(full)):
                    add(f"{rel}/{name}")

        for name in sorted(os.listdir(rootfs)):
            add(name)


def tar_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime, ti.mode = len(data), EPOCH, 0o644
    tar.addfile(ti, io.BytesIO(data))


def write_image_tar(out: Path, repo_tag: str, layer: Path, config: dict) -> str:
    """`docker save` layout around one layer. Returns the config digest (the image ID)."""
    diff_id = sha256_file(layer)
    config = dict(config)
    config["rootfs"] = {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]}
    config_bytes = canonical_json(config)
    config_id = hashlib.sha256(config_bytes).hexdigest()
    repo, tag = repo_tag.rsplit(":", 1)
    manifest = [{"Config": f"{config_id}.json", "RepoTags": [repo_tag], "Layers": [f"{diff_id}/layer.tar"]}]
    tmp = out.with_suffix(".tar.part")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        d = tarfile.TarInfo(diff_id)
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, EPOCH
        tar.addfile(d)
        tar_bytes(tar, f"{diff_id}/VERSION", b"1.0")
        ti = tar.gettarinfo(str(layer), arcname=f"{diff_id}/layer.tar")
        ti.mtime, ti.mode, ti.uid, ti.gid, ti.uname, ti.gname = EPOCH, 0o644, 0, 0, "", ""
        with open(layer, "rb") as f:
            tar.addfile(ti, f)
        tar_bytes(tar, f"{config_id}.json", config_bytes)
        tar_bytes(tar, "manifest.json", canonical_json(manifest))
        tar_bytes(tar, "repositories", canonical_json({repo: {tag: diff_id}}))
    tmp.rename(out)
    return f"sha256:{config_id}"


def image_config(arch: str, version: str, name: str, **cfg) -> dict:
    return {
        "architecture": oci_arch(arch),
        "os": "linux",
        "created": CREATED,
        "config": {
            **cfg,
            "Labels": {
                "org.opencontainers.image.title": name,
                "org.opencontainers.image.version": version,
                "org.opencontainers.image.source": "https://github.com/kasset/kasset",
            },
        },
        "history": [{"created": CREATED, "created_by": f"hack/build_images.py ({name})"}],
    }


# ---------------------------------------------------------------------------------------------------- base rootfs


def base_key(arch: str) -> str:
    return hashlib.sha256(canonical_json([SUITE, sorted(BASE_PACKAGES), BASE_RECIPE, arch, EPOCH])).hexdigest()[:16]


def clean_rootfs(rootfs: Path) -> None:
    """Strip what a container does not need: apt lists/caches, logs, docs (copyright files stay), man, locales."""
    r = rootfs
    for pattern in ["var/cache/apt/archives/*.deb", "var/cache/apt/archives/partial/*", "var/cache/apt/*.bin",
                    "var/lib/apt/lists/*", "var/cache/debconf/*-old", "var/lib/dpkg/*-old",
                    "var/cache/ldconfig/aux-cache", "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*",
                    "usr/share/lintian/*", "usr/share/linda/*", "usr/share/doc-base/*", "usr/share/i18n/*",
                    "etc/hostname", "etc/resolv.conf", "run/*", "tmp/*", "var/tmp/*", "root/.*_history"]:
        for p in glob.glob(str(r / pattern)):
            if os.path.isdir(p) and not os.path.islink(p):
                safe_rmtree(Path(p))
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
                    safe_rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    (r / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    # Keep later `apt-get install`s (e.g. FROM this image) just as slim, like Debian's own -slim images.
    (r / "etc/dpkg/dpkg.cfg.d/kasset-slim").write_text(
        "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\n"
        "path-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\npath-exclude /usr/share/lintian/*\n"
    )
    # Password-change dates are "today" after debootstrap: pin them so the base does not depend on the build day.
    for name in ("etc/shadow", "etc/shadow-"):
        p = r / name
        if p.exists():
            lines = []
            for line in p.read_text().splitlines():
                f = line.split(":")
                if len(f) > 2 and f[2]:
                    f[2] = str(EPOCH // 86400)
                lines.append(":".join(f))
            p.write_text("\n".join(lines) + "\n")


def add_user(rootfs: Path) -> None:
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


def build_base(cache: Path, arch: str, force: bool) -> Path:
    """debootstrap minbase + BASE_PACKAGES, cleaned, user added, .pyc regenerated; cached by suite + packages."""
    d = cache / "base" / f"{SUITE}-{arch}-{base_key(arch)}"
    if (d / "ok").exists() and not force:
        log(f"base rootfs: cached {d}")
        return d / "rootfs"
    if not shutil.which("debootstrap"):
        die("debootstrap not found (apt-get install debootstrap)")
    if os.geteuid() != 0:
        die("building the Debian base needs root (debootstrap, chroot)")
    mirror = debian_mirror()
    t = time.monotonic()
    tmp = d.with_name(d.name + ".tmp")
    safe_rmtree(tmp)
    safe_rmtree(d)
    tmp.mkdir(parents=True)
    rootfs = tmp / "rootfs"
    log(f"base rootfs: debootstrap --variant=minbase {SUITE} from {mirror} (+{','.join(BASE_PACKAGES)})")
    cmd = ["debootstrap", "--variant=minbase", f"--arch={arch}", "--components=main",
           f"--include={','.join(BASE_PACKAGES)}", SUITE, str(rootfs), mirror]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(r.stdout[-4000:], file=sys.stderr)
        for p in (rootfs / "debootstrap/debootstrap.log",):
            if p.exists():
                print(p.read_text()[-4000:], file=sys.stderr)
        safe_rmtree(tmp)
        die("debootstrap failed")
    if mounts_under(rootfs):  # debootstrap unmounts on exit; be sure before copying the tree
        for mnt in sorted(mounts_under(rootfs), key=len, reverse=True):
            subprocess.run(["umount", "-l", mnt], check=False)
    log(f"base rootfs: debootstrap done in {time.monotonic() - t:.1f}s; cleaning")
    clean_rootfs(rootfs)
    add_user(rootfs)
    set_mtimes(rootfs)
    compile_in_chroot(rootfs, [f"/usr/lib/{PYTHON}", "/usr/lib/python3/dist-packages"])
    set_mtimes(rootfs)
    tmp.rename(d)
    (d / "ok").write_text(json.dumps({"suite": SUITE, "packages": BASE_PACKAGES, "mirror": mirror}) + "\n")
    log(f"base rootfs: built in {time.monotonic() - t:.1f}s: {d}")
    return d / "rootfs"


# ---------------------------------------------------------------------------------------------------- python deps


def find_pip() -> list[str]:
    for py in (sys.executable, "/usr/bin/python3"):
        if py and subprocess.run([py, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return [py, "-m", "pip"]
    die("pip is needed to fetch the operator's dependencies from PyPI (apt-get install python3-pip)")
    return []


def build_pydeps(cache: Path, arch: str, deps: list[str], image_magic: bytes | None, force: bool) -> Path:
    """`pip install --target` of the pinned runtime deps as binary wheels for bookworm's CPython 3.11 (cached).

    Returns a dir with `site/` (for dist-packages) and `bin/` (console scripts, shebang /usr/bin/python3)."""
    platforms = [f"manylinux_2_{m}_{pip_arch(arch)}" for m in range(36, 16, -1)] + [f"manylinux2014_{pip_arch(arch)}"]
    key = hashlib.sha256(canonical_json([sorted(deps), platforms, PYTHON, EPOCH, 2])).hexdigest()[:16]
    d = cache / "pydeps" / f"{PYTHON}-{arch}-{key}"
    if (d / "ok").exists() and not force:
        log(f"operator deps: cached {d}")
        return d
    t = time.monotonic()
    tmp = d.with_name(d.name + ".tmp")
    safe_rmtree(tmp)
    safe_rmtree(d)
    site = tmp / "site"
    site.mkdir(parents=True)
    cmd = [*find_pip(), "install", "--disable-pip-version-check", "--no-warn-script-location", "--no-compile",
           "--target", str(site), "--only-binary=:all:", "--implementation", "cp", "--python-version",
           PYTHON.removeprefix("python"), "--abi", "cp" + PYTHON.removeprefix("python").replace(".", "")]
    for p in platforms:
        cmd += ["--platform", p]
    log(f"operator deps: pip install --target ({', '.join(deps)})")
    r = subprocess.run(cmd + deps, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(r.stdout[-4000:], file=sys.stderr)
        die("pip install failed")
    # Console scripts: pip wrote the build host's interpreter into the shebang.
    (tmp / "bin").mkdir()
    if (site / "bin").is_dir():
        for script in sorted((site / "bin").iterdir()):
            data = script.read_bytes()
            if data.startswith(b"#!") and b"python" in data.split(b"\n", 1)[0]:
                data = b"#!/usr/bin/python3\n" + data.split(b"\n", 1)[1]
            (tmp / "bin" / script.name).write_bytes(data)
            os.chmod(tmp / "bin" / script.name, 0o755)
        shutil.rmtree(site / "bin")
    set_mtimes(tmp)
    # Pre-compile here when the host's CPython writes the same .pyc format as the image's (any 3.11.x does);
    # otherwise the operator image build compiles them in a chroot.
    if image_magic and importlib.util.MAGIC_NUMBER == image_magic:
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-f", "--invalidation-mode", "timestamp",
                        "-s", str(site), "-p", f"/{SITE}", str(site)], check=True)
        (tmp / "compiled").write_text("1\n")
    tmp.rename(d)
    (d / "ok").write_text("\n".join(deps) + "\n")
    log(f"operator deps: installed in {time.monotonic() - t:.1f}s: {d}")
    return d


# ---------------------------------------------------------------------------------------------------- images


class Image:
    def __init__(self, short: str, version: str):
        self.short, self.version = short, version
        self.ref = f"kasset/{short}:{version}"
        self.inputs: list[tuple[str, bytes]] = []  # (label, content) pairs hashed into the tar name

    def add_input(self, label: str, content: bytes) -> None:
        self.inputs.append((label, content))

    def add_file_input(self, path: Path) -> None:
        self.add_input(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path), path.read_bytes())

    def digest(self) -> str:
        h = hashlib.sha256()
        for label, content in [("script", SCRIPT.read_bytes()), ("ref", self.ref.encode()), *self.inputs]:
            h.update(hashlib.sha256(label.encode()).digest() + hashlib.sha256(content).digest())
        return h.hexdigest()[:16]


def sdk_sources() -> list[Path]:
    return sorted(Path(p) for p in glob.glob(str(ROOT / "operator/kasset/sdk*")) if not p.endswith(".pyc"))


# Not shipped in the operator image: the local-cluster harness (tests/demo only, and it changes often).
OPERATOR_SKIP = {"localcluster"}


def operator_skip(p: Path) -> bool:
    rel = p.relative_to(ROOT / "operator/kasset").parts
    return p.name == "__pycache__" or p.suffix == ".pyc" or (len(rel) > 0 and rel[0] in OPERATOR_SKIP)


def kasset_sources() -> list[Path]:
    return [f for f in source_files(ROOT / "operator/kasset") if not operator_skip(f)]


def rootfs_pause(work: Path) -> Path:
    busybox = shutil.which("busybox") or "/bin/busybox"
    r = work / "rootfs"
    for d in ("bin", "dev", "etc", "proc", "sys", "tmp"):
        (r / d).mkdir(parents=True)
    os.chmod(r / "tmp", 0o1777)
    shutil.copy2(busybox, r / "bin/busybox")
    os.chmod(r / "bin/busybox", 0o755)
    for applet in ("sh", "sleep"):
        os.symlink("busybox", r / "bin" / applet)
    (r / "etc/passwd").write_text("root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
    (r / "etc/group").write_text("root:x:0:\nnobody:x:65534:\n")
    return r


def copy_base(base: Path, work: Path) -> Path:
    r = work / "rootfs"
    run(["cp", "-a", "--reflink=auto", str(base), str(r)])
    return r


def install_kasset_sdk(r: Path) -> None:
    pkg = r / SITE / "kasset"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    for src in sdk_sources():
        if src.is_dir():
            copy_tree(src, pkg / src.name, skip=lambda p: p.name == "__pycache__" or p.suffix == ".pyc")
        else:
            shutil.copy2(src, pkg / src.name)
    set_mtimes(pkg)
    compile_in_chroot(r, [f"/{SITE}/kasset"])


def install_operator(r: Path, deps_dir: Path, version: str, deps: list[str]) -> None:
    site = r / SITE
    copy_tree(deps_dir / "site", site)
    copy_tree(deps_dir / "bin", r / "usr/local/bin")
    src = ROOT / "operator/kasset"
    files = copy_tree(src, site / "kasset", skip=operator_skip)
    # A minimal dist-info, so importlib.metadata and `kasset` console script work as after `pip install`.
    di = site / f"kasset-{version}.dist-info"
    di.mkdir()
    meta = ["Metadata-Version: 2.1", "Name: kasset", f"Version: {version}", "Requires-Python: >=3.11"]
    meta += [f"Requires-Dist: {d}" for d in deps]
    (di / "METADATA").write_text("\n".join(meta) + "\n")
    (di / "INSTALLER").write_text("kasset-build-images\n")
    (di / "top_level.txt").write_text("kasset\n")
    (di / "entry_points.txt").write_text("[console_scripts]\nkasset = kasset.cli:main\n")
    record = [f"{p.relative_to(site)},sha256={sha256_file(p)},{p.stat().st_size}" for p in files]
    (di / "RECORD").write_text("\n".join(record + [f"kasset-{version}.dist-info/RECORD,,"]) + "\n")
    (r / "usr/local/bin/kasset").write_text(
        "#!/usr/bin/python3\nimport sys\nfrom kasset.cli import main\n\nif __name__ == '__main__':\n    sys.exit(main())\n"
    )
    os.chmod(r / "usr/local/bin/kasset", 0o755)
    set_mtimes(site)
    set_mtimes(r / "usr/local/bin")
    todo = [f"/{SITE}/kasset"] if (deps_dir / "compiled").exists() else [f"/{SITE}"]
    compile_in_chroot(r, todo)


# ---------------------------------------------------------------------------------------------------- containerd


class Ctr:
    def __init__(self, binary: str, address: str):
        self.binary, self.address = binary, address

    def __call__(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, "--address", self.address, "--namespace", "k8s.io", *args],
                              capture_output=True, text=True, **kw)

    def config_digest(self, ref: str, arch: str) -> str | None:
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
                plat = [m for m in doc["manifests"] if m.get("platform", {}).get("architecture") == oci_arch(arch)]
                if not plat:
                    return None
                digest = plat[0]["digest"]
            else:
                return doc.get("config", {}).get("digest")
        return None

    def rows(self) -> list[list[str]]:
        r = self("images", "ls")
        return [line.split() for line in r.stdout.splitlines()[1:] if line.strip()]

    def drop_stale_id(self, old_id: str) -> None:
        """After a tag moved to a new image, drop the CRI's `sha256:<old id>` name if nothing else uses that image."""
        rows = self.rows()
        old = [row for row in rows if row[0] == old_id]
        if old and not any(row[0] != old_id and row[2] == old[0][2] for row in rows):
            self("images", "rm", old_id)
            log(f"removed the previous image {old_id[:19]} from containerd")

    def import_tar(self, tar: Path) -> None:
        r = self("images", "import", str(tar))
        if r.returncode != 0:
            die(f"ctr images import {tar} failed: {(r.stdout + r.stderr).strip()}")


# ---------------------------------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--containerd-address", default=os.environ.get("CONTAINERD_ADDRESS"),
                    help="containerd socket; when given, import the images into namespace k8s.io "
                         "(default: $CONTAINERD_ADDRESS; without it: build only)")
    ap.add_argument("--ctr", default=os.environ.get("KASSET_CTR", DEFAULT_CTR), help="ctr binary (default: $KASSET_CTR)")
    ap.add_argument("--only", action="append", choices=["pause", "step-python", "operator"],
                    help="build only this image (repeatable)")
    ap.add_argument("--force", action="store_true", help="rebuild the image tars even when cached")
    ap.add_argument("--force-base", action="store_true", help="also re-run debootstrap and pip")
    ap.add_argument("--json", action="store_true", help="print a JSON list (ref, tar, id, size) instead of tar paths")
    args = ap.parse_args()

    cache = Path(os.environ.get("KASSET_CACHE") or Path.home() / ".cache/kasset") / "images"
    cache.mkdir(parents=True, exist_ok=True)
    lock = open(cache / ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)

    proj = project()
    version, deps = proj["version"], list(proj.get("dependencies", []))
    arch = deb_arch()
    wanted = args.only or ["pause", "step-python", "operator"]
    base_id = f"{SUITE}-{arch}-{base_key(arch)}"

    images: list[Image] = []
    for short in ["pause", "step-python", "operator"]:
        if short not in wanted:
            continue
        img = Image(short, version)
        img.add_input("arch", arch.encode())
        if short == "pause":
            img.add_input("busybox", Path(shutil.which("busybox") or "/bin/busybox").read_bytes())
        else:
            img.add_input("base", base_id.encode())
        if short == "step-python":
            sdk = sdk_sources()
            if not sdk:
                log("WARNING: operator/kasset/sdk(.py|/) does not exist yet: step-python gets an empty kasset package")
            for src in sdk:
                for f in source_files(src):
                    img.add_file_input(f)
        if short == "operator":
            img.add_file_input(ROOT / "pyproject.toml")
            for f in kasset_sources():
                img.add_file_input(f)
        images.append(img)

    results = []
    t_build = time.monotonic()
    for img in images:
        t = time.monotonic()
        tar = cache / f"{img.short}-{img.version}-{img.digest()}.tar"
        meta = tar.with_suffix(".json")
        if tar.exists() and meta.exists() and not args.force:
            info = json.loads(meta.read_text())
            log(f"{img.ref}: up to date ({tar.name})")
        else:
            work = cache / "work" / f"{img.short}.tmp"
            safe_rmtree(work)
            work.mkdir(parents=True)
            try:
                env = [ENV_PATH, "LANG=C.UTF-8", "PYTHONUNBUFFERED=1"]
                if img.short == "pause":
                    rootfs = rootfs_pause(work)
                    cfg = image_config(arch, img.version, img.ref, User=PAUSE_USER, Env=[ENV_PATH],
                                       Entrypoint=["/bin/sh", "-c", PAUSE_SCRIPT], WorkingDir="/")
                else:
                    base = build_base(cache, arch, args.force_base)
                    rootfs = copy_base(base, work)
                    user = f"{USER[1]}:{USER[2]}"
                    if img.short == "step-python":
                        install_kasset_sdk(rootfs)
                        cfg = image_config(arch, img.version, img.ref, User=user,
                                           Env=[*env, "PYTHONDONTWRITEBYTECODE=1"], Cmd=["python3"],
                                           WorkingDir=USER[3])
                    else:
                        deps_dir = build_pydeps(cache, arch, deps, pyc_magic_of_rootfs(base), args.force_base)
                        install_operator(rootfs, deps_dir, img.version, deps)
                        cfg = image_config(arch, img.version, img.ref, User=user,
                                           Env=[*env, "PYTHONDONTWRITEBYTECODE=1"],
                                           Entrypoint=["/usr/local/bin/kopf"],
                                           Cmd=["run", "--standalone", "-m", "kasset.handlers", "--all-namespaces"],
                                           WorkingDir=USER[3])
                layer = work / "layer.tar"
                write_layer(rootfs, layer)
                for old in cache.glob(f"{img.short}-*.tar"):
                    old.unlink()
                    old.with_suffix(".json").unlink(missing_ok=True)
                image_id = write_image_tar(tar, img.ref, layer, cfg)
                info = {"ref": img.ref, "tar": str(tar), "id": image_id, "size": tar.stat().st_size}
                meta.write_text(json.dumps(info, indent=1) + "\n")
            finally:
                safe_rmtree(work)
            log(f"{img.ref}: built in {time.monotonic() - t:.1f}s, {info['size'] / 1e6:.1f} MB, id {info['id'][:19]}")
        results.append(info)
    log(f"build: {time.monotonic() - t_build:.1f}s for {len(images)} image(s)")

    if args.containerd_address:
        t = time.monotonic()
        if not os.access(args.ctr, os.X_OK):
            die(f"ctr not found at {args.ctr} (set KASSET_CTR)")
        ctr = Ctr(args.ctr, args.containerd_address)
        for info in results:
            have = ctr.config_digest(info["ref"], arch)
            if have == info["id"]:
                log(f"{info['ref']}: already in containerd (k8s.io), id {have[:19]}")
                continue
            ti = time.monotonic()
            ctr.import_tar(Path(info["tar"]))
            got = ctr.config_digest(info["ref"], arch)
            if got != info["id"]:
                die(f"{info['ref']}: after import containerd has id {got}, expected {info['id']}")
            if have:
                ctr.drop_stale_id(have)
            log(f"{info['ref']}: imported into {args.containerd_address} (k8s.io) in {time.monotonic() - ti:.1f}s")
        log(f"import: {time.monotonic() - t:.1f}s")

    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for info in results:
            print(info["tar"])
    log(f"total: {time.monotonic() - _t0:.1f}s")


if __name__ == "__main__":
    main()
