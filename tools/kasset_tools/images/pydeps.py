"""An image's Python dependencies as binary wheels for the image's CPython, installed once and cached.

Used for the operator (the pinned `project.dependencies`) and for step-aws and sqs-source (the pins of
`sources/sqs/requirements.txt`). Each dependency list gets its own folder, so the two sets never mix.

Does: `pip install --target` a pinned dependency list for bookworm's CPython 3.11 / glibc 2.36
(`--only-binary=:all:`, manylinux platform tags) into `<cache>/pydeps/<python>-<arch>-<key>/`, re-point console
scripts to `/usr/bin/python3`, pin mtimes and, when the host writes the image's `.pyc` format, pre-compile.
Does not: copy them into an image (`assemble`), or install anything into the running interpreter.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .host import die, log, remove_tree, set_mtimes, to_pip_arch
from .recipe import EPOCH, PYTHON, SITE, encode_canonical_json

PYDEPS_RECIPE = 2  # bump when the way the deps are installed changes: part of the cache key


def find_pip() -> list[str]:
    """A command running pip: this interpreter's, else the system python3's."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and subprocess.run([py, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return [py, "-m", "pip"]
    die("pip is needed to fetch the images' Python dependencies from PyPI (apt-get install python3-pip)")


def list_platforms(arch: str) -> list[str]:
    """manylinux tags that bookworm (glibc 2.36) can run, newest first."""
    machine = to_pip_arch(arch)
    return [f"manylinux_2_{m}_{machine}" for m in range(36, 16, -1)] + [f"manylinux2014_{machine}"]


def _move_console_scripts(tmp: Path, site: Path) -> None:
    """Console scripts: pip wrote the build host's interpreter into the shebang; point them at /usr/bin/python3."""
    (tmp / "bin").mkdir()
    if (site / "bin").is_dir():
        for script in sorted((site / "bin").iterdir()):
            data = script.read_bytes()
            if data.startswith(b"#!") and b"python" in data.split(b"\n", 1)[0]:
                data = b"#!/usr/bin/python3\n" + data.split(b"\n", 1)[1]
            (tmp / "bin" / script.name).write_bytes(data)
            os.chmod(tmp / "bin" / script.name, 0o755)
        shutil.rmtree(site / "bin")


def build_pydeps(cache: Path, arch: str, deps: list[str], *, image_magic: bytes | None, force: bool) -> Path:
    """`pip install --target` of pinned deps as binary wheels for bookworm's CPython 3.11 (cached by the list).

    Returns a dir with `site/` (for dist-packages) and `bin/` (console scripts, shebang /usr/bin/python3)."""
    platforms = list_platforms(arch)
    key = hashlib.sha256(encode_canonical_json([sorted(deps), platforms, PYTHON, EPOCH, PYDEPS_RECIPE]))
    d = cache / "pydeps" / f"{PYTHON}-{arch}-{key.hexdigest()[:16]}"
    if (d / "ok").exists() and not force:
        log(f"python deps: cached {d}")
        return d
    t = time.monotonic()
    tmp = d.with_name(d.name + ".tmp")
    remove_tree(tmp)
    remove_tree(d)
    site = tmp / "site"
    site.mkdir(parents=True)
    version = PYTHON.removeprefix("python")
    cmd = [*find_pip(), "install", "--disable-pip-version-check", "--no-warn-script-location", "--no-compile",
           "--target", str(site), "--only-binary=:all:", "--implementation", "cp", "--python-version",
           version, "--abi", "cp" + version.replace(".", "")]
    for p in platforms:
        cmd += ["--platform", p]
    log(f"python deps: pip install --target ({', '.join(deps)})")
    r = subprocess.run(cmd + deps, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(r.stdout[-4000:], file=sys.stderr)
        die("pip install failed")
    _move_console_scripts(tmp, site)
    set_mtimes(tmp)
    # Pre-compile here when the host's CPython writes the same .pyc format as the image's (any 3.11.x does);
    # otherwise the image build compiles them in a chroot.
    if image_magic and importlib.util.MAGIC_NUMBER == image_magic:
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-f", "--invalidation-mode", "timestamp",
                        "-s", str(site), "-p", f"/{SITE}", str(site)], check=True)
        (tmp / "compiled").write_text("1\n")
    tmp.rename(d)
    (d / "ok").write_text("\n".join(deps) + "\n")
    log(f"python deps: installed in {time.monotonic() - t:.1f}s: {d}")
    return d
