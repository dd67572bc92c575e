"""What goes into each image: the fixed recipe (suite, packages, user, dates) and each image's config.

Does: name the images and the constants their content depends on, read the project's version and dependencies
from the repository's pyproject.toml and the AWS images' pinned dependencies from `sources/sqs/requirements.txt`,
and make each image's config JSON (user, env, entrypoint, labels).
Does not: touch the filesystem beyond reading those two files, hash inputs (`inputs`), build anything
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

# Build order, and the choices of --only.
IMAGE_NAMES = ["pause", "step-python", "step-aws", "operator", "sqs-source"]
# Images with boto3 (from AWS_REQUIREMENTS): step-aws is step-python plus boto3, sqs-source runs SQS_SOURCE.
AWS_IMAGES = ("step-aws", "sqs-source")
AWS_REQUIREMENTS = "sources/sqs/requirements.txt"  # boto3 pinned once, for these images and their Dockerfiles
SQS_SOURCE = "sources/sqs/kasset_sqs_source.py"  # installed as a top-level module in dist-packages
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
SQS_SOURCE_ENTRYPOINT = ["python3", "-m", "kasset_sqs_source"]
SOURCE_URL = "https://github.com/kasset/kasset"
BUILDER = "kasset_tools.images"  # named in each image's history


def read_project(repo: Path = REPO) -> dict:
    """The [project] table of the repository's pyproject.toml (version, dependencies)."""
    path = repo / "pyproject.toml"
    if not path.is_file():
        raise SystemExit(f"{path} not found: run from a checkout of the Kasset repository (editable install)")
    return tomllib.loads(path.read_text())["project"]


def read_aws_requirements(repo: Path = REPO) -> list[str]:
    """The pinned requirements (`name==version`) of the AWS images, from AWS_REQUIREMENTS, comments left out."""
    path = repo / AWS_REQUIREMENTS
    if not path.is_file():
        raise SystemExit(f"{path} not found: the step-aws and sqs-source images pin their dependencies there")
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    reqs = [line for line in lines if line]
    unpinned = [r for r in reqs if "==" not in r]
    if unpinned:
        raise SystemExit(f"{path}: pin every requirement with == (not pinned: {', '.join(unpinned)})")
    return reqs


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
    if short in ("step-python", "step-aws"):
        return make_image_config(oci_arch, version, ref, User=user, Env=list(PYTHON_ENV), Cmd=["python3"],
                                 WorkingDir=USER[3])
    if short == "operator":
        return make_image_config(oci_arch, version, ref, User=user, Env=list(PYTHON_ENV),
                                 Entrypoint=list(OPERATOR_ENTRYPOINT), Cmd=list(OPERATOR_CMD), WorkingDir=USER[3])
    if short == "sqs-source":
        return make_image_config(oci_arch, version, ref, User=user, Env=list(PYTHON_ENV),
                                 Entrypoint=list(SQS_SOURCE_ENTRYPOINT), WorkingDir=USER[3])
    raise ValueError(f"unknown image {short!r} (known: {', '.join(IMAGE_NAMES)})")
