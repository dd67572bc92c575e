"""The inputs of each image and their hash, which names the image's tar in the cache.

Does: list the repository files each image copies (`kasset.sdk` for step-python and step-aws; `pyproject.toml`
and `operator/kasset/**` for the operator; `sources/sqs/requirements.txt` for step-aws and sqs-source, plus
`sources/sqs/kasset_sqs_source.py` for sqs-source), collect every input (this package's own sources, the
image reference, the architecture, the base key, the busybox binary, the copied files) into an `ImageInputs`, and
hash them. Same inputs, same hash: an existing tar is reused; any change, a new tar.
Does not: read the cache, build or copy anything (`assemble` copies the same files this module lists).
"""

from __future__ import annotations

import glob
import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .host import list_source_files, log
from .recipe import AWS_IMAGES, AWS_REQUIREMENTS, IMAGE_NAMES, REPO, SQS_SOURCE

PACKAGE_DIR = Path(__file__).resolve().parent


def list_sdk_sources(repo: Path = REPO) -> list[Path]:
    """`operator/kasset/sdk.py` and/or the `operator/kasset/sdk/` package (what step-python ships), sorted."""
    return sorted(Path(p) for p in glob.glob(str(repo / "operator/kasset/sdk*")) if not p.endswith(".pyc"))


def is_left_out_of_operator(path: Path, repo: Path = REPO) -> bool:
    """True for byte-code caches: the package itself ships whole (development tooling lives in `tools/`)."""
    return path.name == "__pycache__" or path.suffix == ".pyc" or "__pycache__" in path.relative_to(repo).parts


def list_operator_sources(repo: Path = REPO) -> list[Path]:
    """The files of `operator/kasset` that go into the operator image."""
    files = list_source_files(repo / "operator/kasset")
    return [f for f in files if not is_left_out_of_operator(f, repo)]


def list_builder_sources() -> list[Path]:
    """This package's own Python files: the recipe, part of every image's hash."""
    return sorted(PACKAGE_DIR.glob("*.py"))


@dataclass
class ImageInputs:
    """One image to build: its short name, version, and the (label, content) pairs its tar name is hashed from."""

    short: str
    version: str
    inputs: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"kasset/{self.short}:{self.version}"

    def add(self, label: str, content: bytes) -> None:
        """Record one input."""
        self.inputs.append((label, content))

    def add_file(self, path: Path, repo: Path = REPO) -> None:
        """Record a file's content, labelled by its path relative to the repository when inside it."""
        self.add(str(path.relative_to(repo) if path.is_relative_to(repo) else path), path.read_bytes())

    def compute_digest(self) -> str:
        """16 hex digits over the builder's sources, the reference and every input, in order."""
        h = hashlib.sha256()
        recipe = [(f"builder/{p.name}", p.read_bytes()) for p in list_builder_sources()]
        for label, content in [*recipe, ("ref", self.ref.encode()), *self.inputs]:
            h.update(hashlib.sha256(label.encode()).digest() + hashlib.sha256(content).digest())
        return h.hexdigest()[:16]


def collect_inputs(short: str, *, version: str, arch: str, base_id: str, repo: Path = REPO) -> ImageInputs:
    """Everything image `short`'s content depends on."""
    img = ImageInputs(short, version)
    img.add("arch", arch.encode())
    if short == "pause":
        img.add("busybox", Path(shutil.which("busybox") or "/bin/busybox").read_bytes())
    else:
        img.add("base", base_id.encode())
    if short in ("step-python", "step-aws"):
        sdk = list_sdk_sources(repo)
        if not sdk:
            log(f"WARNING: operator/kasset/sdk(.py|/) does not exist yet: {short} gets an empty kasset package")
        for src in sdk:
            for f in list_source_files(src):
                img.add_file(f, repo)
    if short in AWS_IMAGES:  # the pins name the deps (and key their pip cache)
        img.add_file(repo / AWS_REQUIREMENTS, repo)
    if short == "sqs-source":
        img.add_file(repo / SQS_SOURCE, repo)
    if short == "operator":
        img.add_file(repo / "pyproject.toml", repo)
        for f in list_operator_sources(repo):
            img.add_file(f, repo)
    return img


def plan_images(wanted: list[str], *, version: str, arch: str, base_id: str) -> list[ImageInputs]:
    """The images to build, in IMAGE_NAMES order, each with its inputs collected."""
    return [collect_inputs(short, version=version, arch=arch, base_id=base_id)
            for short in IMAGE_NAMES if short in wanted]
