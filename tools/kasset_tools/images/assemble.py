"""Each image's root filesystem: busybox for pause, the Debian base plus Kasset's files for the Python images.

Does: lay out the pause image from the host's busybox-static; copy the cached Debian base and add `kasset.sdk`
(step-python), boto3 and `kasset.sdk` (step-aws), boto3 and the `kasset_sqs_source` module (sqs-source), or the
`kasset` package, its dependencies, a minimal dist-info and the `kasset` script (operator); byte-compile what
it added in a chroot.
Does not: build the base (`rootfs`) or fetch the dependencies (`pydeps`) itself, choose what the inputs are
(`inputs` lists the same files), or write the layer (`layer`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .host import copy_tree, hash_file, run, set_mtimes
from .inputs import is_left_out_of_operator, list_sdk_sources
from .pydeps import build_pydeps
from .recipe import AWS_IMAGES, REPO, SITE, SQS_SOURCE, read_aws_requirements
from .rootfs import build_base, compile_in_chroot, read_pyc_magic

KASSET_SCRIPT = (
    "#!/usr/bin/python3\nimport sys\nfrom kasset.cli import main\n\nif __name__ == '__main__':\n    sys.exit(main())\n"
)


def assemble_rootfs(short: str, work: Path, *, cache: Path, arch: str, version: str, deps: list[str],
                    force_base: bool) -> Path:
    """Build image `short`'s root filesystem in work/rootfs and return it."""
    if short == "pause":
        return lay_out_pause(work)
    base = build_base(cache, arch, force=force_base)
    rootfs = copy_base(base, work)
    if short in AWS_IMAGES:
        deps_dir = build_pydeps(cache, arch, read_aws_requirements(), image_magic=read_pyc_magic(base),
                                force=force_base)
        install_python_deps(rootfs, deps_dir)
    if short in ("step-python", "step-aws"):
        install_kasset_sdk(rootfs)
    elif short == "sqs-source":
        install_sqs_source(rootfs)
    elif short == "operator":
        deps_dir = build_pydeps(cache, arch, deps, image_magic=read_pyc_magic(base), force=force_base)
        install_operator(rootfs, deps_dir, version=version, deps=deps)
    return rootfs


def lay_out_pause(work: Path) -> Path:
    """busybox-static with `sh` and `sleep`, root and nobody users; nothing else."""
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
    """A copy of the base rootfs in work/rootfs (cp -a, reflinks where the filesystem has them)."""
    r = work / "rootfs"
    run(["cp", "-a", "--reflink=auto", str(base), str(r)])
    return r


def install_kasset_sdk(rootfs: Path) -> None:
    """`kasset.sdk` under dist-packages, in a `kasset` package with an empty __init__.py; compiled."""
    pkg = rootfs / SITE / "kasset"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    for src in list_sdk_sources():
        if src.is_dir():
            copy_tree(src, pkg / src.name, skip=lambda p: p.name == "__pycache__" or p.suffix == ".pyc")
        else:
            shutil.copy2(src, pkg / src.name)
    set_mtimes(pkg)
    compile_in_chroot(rootfs, [f"/{SITE}/kasset"])


def install_python_deps(rootfs: Path, deps_dir: Path) -> None:
    """A `pydeps` folder into dist-packages and /usr/local/bin; compiled in a chroot unless pydeps did it."""
    site = rootfs / SITE
    copy_tree(deps_dir / "site", site)
    copy_tree(deps_dir / "bin", rootfs / "usr/local/bin")
    set_mtimes(site)
    set_mtimes(rootfs / "usr/local/bin")
    if not (deps_dir / "compiled").exists():
        compile_in_chroot(rootfs, [f"/{SITE}"])


def install_sqs_source(rootfs: Path) -> None:
    """`sources/sqs/kasset_sqs_source.py` as a top-level module in dist-packages (`python3 -m kasset_sqs_source`)."""
    site = rootfs / SITE
    site.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / SQS_SOURCE, site / Path(SQS_SOURCE).name)
    os.chmod(site / Path(SQS_SOURCE).name, 0o644)
    set_mtimes(site)
    compile_in_chroot(rootfs, [f"/{SITE}/{Path(SQS_SOURCE).name}"])


def write_dist_info(site: Path, files: list[Path], *, version: str, deps: list[str]) -> None:
    """A minimal dist-info, so importlib.metadata and the `kasset` console script work as after `pip install`."""
    di = site / f"kasset-{version}.dist-info"
    di.mkdir()
    meta = ["Metadata-Version: 2.1", "Name: kasset", f"Version: {version}", "Requires-Python: >=3.11"]
    meta += [f"Requires-Dist: {d}" for d in deps]
    (di / "METADATA").write_text("\n".join(meta) + "\n")
    (di / "INSTALLER").write_text("kasset-build-images\n")
    (di / "top_level.txt").write_text("kasset\n")
    (di / "entry_points.txt").write_text("[console_scripts]\nkasset = kasset.cli:main\n")
    record = [f"{p.relative_to(site)},sha256={hash_file(p)},{p.stat().st_size}" for p in files]
    (di / "RECORD").write_text("\n".join(record + [f"kasset-{version}.dist-info/RECORD,,"]) + "\n")


def install_operator(rootfs: Path, deps_dir: Path, *, version: str, deps: list[str]) -> None:
    """The deps, `operator/kasset`, its dist-info and the `kasset` script; compiled."""
    site = rootfs / SITE
    copy_tree(deps_dir / "site", site)
    copy_tree(deps_dir / "bin", rootfs / "usr/local/bin")
    files = copy_tree(REPO / "operator/kasset", site / "kasset", skip=is_left_out_of_operator)
    write_dist_info(site, files, version=version, deps=deps)
    (rootfs / "usr/local/bin/kasset").write_text(KASSET_SCRIPT)
    os.chmod(rootfs / "usr/local/bin/kasset", 0o755)
    set_mtimes(site)
    set_mtimes(rootfs / "usr/local/bin")
    todo = [f"/{SITE}/kasset"] if (deps_dir / "compiled").exists() else [f"/{SITE}"]
    compile_in_chroot(rootfs, todo)
