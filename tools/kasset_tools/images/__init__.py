"""Kasset's container images, built from Debian packages without Docker or a registry (see images/README.md).

`python -m kasset_tools.images` (the Makefile's `images` target, and the real node at cluster start)
builds `kasset/pause`, `kasset/step-python`, `kasset/step-aws`, `kasset/operator` and `kasset/sqs-source` as
`docker save`-layout tars, cached under `${KASSET_CACHE:-~/.cache/kasset}/images/`, and with
`--containerd-address` imports them into containerd.

Modules, each building on the ones above it:

- `recipe`     what goes into each image: suite, packages, user, fixed dates, each image's config (no imports here)
- `host`       progress on stderr, fatal errors, architecture, Debian mirror, file-tree operations
- `inputs`     the files each image copies and the hash of all its inputs (names the cached tar)
- `layer`      reproducible layer tar and the `docker save` tar around it (manifest, config, image ID)
- `rootfs`     the shared Debian base: debootstrap, slimming, user, .pyc (cached)
- `pydeps`     pinned Python dependencies (the operator's, boto3's) as wheels for the image's CPython (cached)
- `assemble`   each image's root filesystem from busybox or the base plus Kasset's files
- `cache`      cache location, lock, tar names and metadata, scratch folders
- `containerd` import into containerd's `k8s.io` namespace with `ctr`, skipping what is already there
- `__main__`   the command line

Standard library only, and nothing from `kasset`: it runs before the operator's dependencies matter. It is
development tooling (the `kasset-tools` distribution in `tools/`), never part of an image. Needs root for the
Debian images.
"""
