"""What goes into each image: the fixed recipe (suite, packages, user, dates) and each image's config.

Does: name the images and the constants their content depends on, read the project's version and dependencies
from the repository's pyproject.toml, and make each image's config JSON (user, env, entrypoint, labels).
Does not: touch the filesystem beyond reading pyproject.toml, hash inputs (`inputs`), build anything
(`rootfs`, `assemble`, `layer`) or talk to containerd. It imports nothing from this package: the other modules
build on it.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

# tools/kasset_tools/images/recipe.py -> the repository root (pyproject.toml, operator/kasset).
REPO = Path(__file__).resolve().parents[3]

IMAGE_NAMES = ["pause", "step-python", "operator"]  # build order, and the choices of --only
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
PYTHON_ENV = [ENV_PATH, "LANG=C.UTF-8", "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"]
OPERATOR_ENTRYPOINT = ["/usr/local/bin/kopf"]
OPERATOR_CMD = ["run", "--standalone", "-m", "kasset.handlers", "--all-namespaces"]
SOURCE_URL = "https://github.com/kasset/kasset"
BUILDER = "kasset_tools.images"  # named in each image's history


def read_project(repo: Path = REPO) -> dict:
    """The [project] table of the repository's pyproject.toml (version, dependencies)."""
    path = repo / "pyproject.toml"
    if not path.is_file():
        raise SystemExit(f"{path} not found: run from a checkout of the Kasset repository (editable install)")
    return tomllib.loads(path.read_text())["project"]


def encode_canonical_json(obj) -> bytes:
    """JSON with sorted keys and no spaces: the same object always gives the same bytes (and digest)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def compute_base_key(arch: str) -> str:
    """Cache key of the Debian base rootfs: suite, packages, recipe version, architecture, epoch."""
    key = [SUITE, sorted(BASE_PACKAGES), BASE_RECIPE, arch, EPOCH]
    return hashlib.sha256(encode_canonical_json(key)).hexdigest()[:16]


def make_image_config(oci_arch: str, version: str, name: str, **cfg) -> dict:
    """An image config (without rootfs): fixed dates, OCI labels, and cfg as its `config` (User, Env, ...)."""
    return {
        "architecture": oci_arch,
        "os": "linux",
        "created": CREATED,
        "config": {
            **cfg,
            "Labels": {
                "org.opencontainers.image.title": name,
                "org.opencontainers.image.version": version,
                "org.opencontainers.image.source": SOURCE_URL,
            },
        },
        "history": [{"created": CREATED, "created_by": f"{BUILDER} ({name})"}],
    }


def configure_image(short: str, *, oci_arch: str, version: str) -> dict:
    """The config of image `short` (one of IMAGE_NAMES): who it runs as, its env and its command."""
    ref = f"kasset/{short}:{version}"
    if short == "pause":
        return make_image_config(oci_arch, version, ref, User=PAUSE_USER, Env=[ENV_PATH],
                                 Entrypoint=["/bin/sh", "-c", PAUSE_SCRIPT], WorkingDir="/")
    user = f"{USER[1]}:{USER[2]}"
    if short == "step-python":
        return make_image_config(oci_arch, version, ref, User=user, Env=list(PYTHON_ENV), Cmd=["python3"],
                                 WorkingDir=USER[3])
    if short == "operator":
        return make_image_config(oci_arch, version, ref, User=user, Env=list(PYTHON_ENV),
                                 Entrypoint=list(OPERATOR_ENTRYPOINT), Cmd=list(OPERATOR_CMD), WorkingDir=USER[3])
    raise ValueError(f"unknown image {short!r} (known: {', '.join(IMAGE_NAMES)})")
