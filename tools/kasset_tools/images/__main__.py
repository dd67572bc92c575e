"""Build Kasset's container images from Debian packages, without Docker or a registry.

Images (tags follow the project version in pyproject.toml):

  kasset/pause:<version>        busybox-static; the pod sandbox ("pause") image
  kasset/step-python:<version>  Debian bookworm (debootstrap minbase) + python3 + `kasset.sdk`, user 1000:1000
  kasset/step-aws:<version>     step-python + boto3 (pinned in sources/sqs/requirements.txt), for S3 in steps
  kasset/operator:<version>     the same base + the kasset package and its pinned deps from PyPI, user 1000:1000
  kasset/sqs-source:<version>   the same base + boto3 + sources/sqs/kasset_sqs_source.py, a Sensor's source

Each image is written as a `docker save`-layout tar (manifest.json, config JSON, one uncompressed layer) into
`${KASSET_CACHE:-$HOME/.cache/kasset}/images/`, named after a hash of its inputs; an existing tar for the same hash
is reused. With `--containerd-address` (or $CONTAINERD_ADDRESS) every tar is imported into containerd's `k8s.io`
namespace with `ctr` ($KASSET_CTR), unless the image is already there with the same config digest (image ID).

Needs: root (debootstrap, chroot), debootstrap, busybox-static, network access to the Debian mirror and PyPI.
Standard library only (python3 >= 3.11). See images/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from .assemble import assemble_rootfs
from .cache import drop_older_tars, locate_cache, lock_cache, name_tar, open_work_dir, read_cached, write_meta
from .containerd import DEFAULT_CTR, import_images
from .host import detect_deb_arch, log, measure_elapsed, to_oci_arch
from .inputs import ImageInputs, plan_images
from .layer import write_image_tar, write_layer
from .recipe import IMAGE_NAMES, configure_image, read_project
from .rootfs import name_base


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; defaults come from $CONTAINERD_ADDRESS and $KASSET_CTR."""
    ap = argparse.ArgumentParser(prog="python -m kasset_tools.images", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--containerd-address", default=os.environ.get("CONTAINERD_ADDRESS"),
                    help="containerd socket; when given, import the images into namespace k8s.io "
                         "(default: $CONTAINERD_ADDRESS; without it: build only)")
    ap.add_argument("--ctr", default=os.environ.get("KASSET_CTR", DEFAULT_CTR),
                    help="ctr binary (default: $KASSET_CTR)")
    ap.add_argument("--only", action="append", choices=IMAGE_NAMES, help="build only this image (repeatable)")
    ap.add_argument("--force", action="store_true", help="rebuild the image tars even when cached")
    ap.add_argument("--force-base", action="store_true", help="also re-run debootstrap and pip")
    ap.add_argument("--json", action="store_true", help="print a JSON list (ref, tar, id, size) instead of tar paths")
    return ap.parse_args(argv)


def build_image(img: ImageInputs, cache: Path, *, arch: str, deps: list[str], force: bool, force_base: bool) -> dict:
    """Reuse the cached tar for img's inputs, or build it; returns its metadata (ref, tar, id, size)."""
    t = time.monotonic()
    tar = name_tar(cache, img)
    info = None if force else read_cached(tar)
    if info is not None:
        log(f"{img.ref}: up to date ({tar.name})")
        return info
    config = configure_image(img.short, oci_arch=to_oci_arch(arch), version=img.version)
    with open_work_dir(cache, img.short) as work:
        rootfs = assemble_rootfs(img.short, work, cache=cache, arch=arch, version=img.version, deps=deps,
                                 force_base=force_base)
        layer = work / "layer.tar"
        write_layer(rootfs, layer)
        drop_older_tars(cache, img.short)
        image_id = write_image_tar(tar, img.ref, layer, config=config)
        info = {"ref": img.ref, "tar": str(tar), "id": image_id, "size": tar.stat().st_size}
        write_meta(tar, info)
    log(f"{img.ref}: built in {time.monotonic() - t:.1f}s, {info['size'] / 1e6:.1f} MB, id {info['id'][:19]}")
    return info


def main(argv: list[str] | None = None) -> None:
    """Build (or reuse) the wanted images, import them when asked, print their tars (or JSON) on stdout."""
    args = parse_args(argv)
    cache = locate_cache()
    held = lock_cache(cache)  # the lock lasts until this file is closed, at exit

    project = read_project()
    version, deps = project["version"], list(project.get("dependencies", []))
    arch = detect_deb_arch()
    images = plan_images(args.only or IMAGE_NAMES, version=version, arch=arch, base_id=name_base(arch))

    t_build = time.monotonic()
    results = [build_image(img, cache, arch=arch, deps=deps, force=args.force, force_base=args.force_base)
               for img in images]
    log(f"build: {time.monotonic() - t_build:.1f}s for {len(images)} image(s)")

    if args.containerd_address:
        import_images(results, ctr_binary=args.ctr, address=args.containerd_address, arch=arch)

    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for info in results:
            print(info["tar"])
    log(f"total: {measure_elapsed():.1f}s")
    held.close()


if __name__ == "__main__":
    main()
