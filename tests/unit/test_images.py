"""The image builder's pure parts: reproducible tars, image configs, input hashes, and a standard-library-only package.

Nothing here needs root, the network, debootstrap or containerd: trees are built in tmp_path.
"""

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

from kasset_tools.images.inputs import collect_inputs, list_operator_sources
from kasset_tools.images.layer import write_image_tar, write_layer
from kasset_tools.images.recipe import (AWS_REQUIREMENTS, EPOCH, IMAGE_NAMES, REPO, compute_base_key,
                                        configure_image, read_aws_requirements)
from kasset_factories import run_isolated

ROOT = Path(__file__).resolve().parents[2]


def make_tree(root: Path) -> Path:
    (root / "usr/bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "tmp").mkdir()
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "usr/bin/tool").write_bytes(b"#!/bin/sh\necho hi\n")
    os.chmod(root / "usr/bin/tool", 0o755)
    os.symlink("tool", root / "usr/bin/alias")
    (root / "tmp/scratch").write_text("left behind by the build")
    return root


def read_members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(path) as tar:
        return tar.getmembers()


def read_image_tar(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def write_image(tmp_path: Path, name: str, *, short: str = "step-python") -> tuple[Path, Path, str]:
    layer = tmp_path / f"{name}-layer.tar"
    write_layer(make_tree(tmp_path / f"{name}-rootfs"), layer)
    out = tmp_path / f"{name}.tar"
    config = configure_image(short, oci_arch="amd64", version="1.2.3")
    image_id = write_image_tar(out, f"kasset/{short}:1.2.3", layer, config=config)
    return out, layer, image_id


# ---------------------------------------------------------------------------------------------------- layer tar


def test_the_same_tree_gives_the_same_layer_bytes_whatever_its_mtimes_and_location(tmp_path):
    first, second = make_tree(tmp_path / "a"), make_tree(tmp_path / "b")
    for dirpath, dirnames, filenames in os.walk(second):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (12345, 12345), follow_symlinks=False)
    write_layer(first, tmp_path / "a.tar")
    write_layer(second, tmp_path / "b.tar")
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


def test_layer_entries_are_sorted_depth_first_with_fixed_mtimes_and_numeric_owners(tmp_path):
    rootfs = make_tree(tmp_path / "rootfs")
    write_layer(rootfs, tmp_path / "layer.tar")
    members = read_members(tmp_path / "layer.tar")
    assert [m.name for m in members] == ["etc", "etc/passwd", "tmp", "usr", "usr/bin", "usr/bin/alias",
                                         "usr/bin/tool"]
    assert {m.mtime for m in members} == {EPOCH}
    assert {(m.uname, m.gname) for m in members} == {("", "")}
    tool = next(m for m in members if m.name == "usr/bin/tool")
    assert (tool.uid, tool.gid) == (os.getuid(), os.getgid())
    assert next(m for m in members if m.name == "usr/bin/alias").linkname == "tool"


def test_layer_leaves_out_runtime_dir_contents_special_files_and_setuid_bits(tmp_path):
    rootfs = make_tree(tmp_path / "rootfs")
    (rootfs / "dev").mkdir()
    (rootfs / "dev/console").write_text("")
    os.mkfifo(rootfs / "etc/fifo")
    os.chmod(rootfs / "usr/bin/tool", 0o6755)
    write_layer(rootfs, tmp_path / "layer.tar")
    members = {m.name: m for m in read_members(tmp_path / "layer.tar")}
    assert "dev" in members and "dev/console" not in members
    assert "tmp" in members and "tmp/scratch" not in members
    assert "etc/fifo" not in members
    assert stat.S_IMODE(members["usr/bin/tool"].mode) == 0o755


# ---------------------------------------------------------------------------------------------------- image tar


def test_image_tar_has_a_docker_save_manifest_and_a_config_naming_the_layer_digest(tmp_path):
    out, layer, image_id = write_image(tmp_path, "img")
    files = read_image_tar(out)
    diff_id = hashlib.sha256(layer.read_bytes()).hexdigest()
    config_id = image_id.removeprefix("sha256:")
    assert json.loads(files["manifest.json"]) == [
        {"Config": f"{config_id}.json", "RepoTags": ["kasset/step-python:1.2.3"], "Layers": [f"{diff_id}/layer.tar"]}
    ]
    assert hashlib.sha256(files[f"{config_id}.json"]).hexdigest() == config_id
    config = json.loads(files[f"{config_id}.json"])
    assert config["rootfs"] == {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]}
    assert files[f"{diff_id}/layer.tar"] == layer.read_bytes()
    assert json.loads(files["repositories"]) == {"kasset/step-python": {"1.2.3": diff_id}}
    assert not out.with_suffix(".tar.part").exists()


def test_the_same_inputs_give_the_same_image_tar_and_image_id(tmp_path):
    first, _, first_id = write_image(tmp_path, "one")
    second, _, second_id = write_image(tmp_path, "two")
    assert first_id == second_id
    assert first.read_bytes() == second.read_bytes()
    assert {m.mtime for m in read_members(first)} == {EPOCH}


@pytest.mark.parametrize(("short", "user", "entrypoint", "cmd"), [
    ("pause", "65535:65535", ["/bin/sh", "-c"], None),
    ("step-python", "1000:1000", None, ["python3"]),
    ("step-aws", "1000:1000", None, ["python3"]),
    ("sqs-source", "1000:1000", ["python3", "-m"], None),
    ("operator", "1000:1000", ["/usr/local/bin/kopf"], ["run", "--standalone", "-m", "kasset.handlers",
                                                         "--all-namespaces"]),
])
def test_each_image_runs_as_its_numeric_user_with_its_command(short, user, entrypoint, cmd):
    config = configure_image(short, oci_arch="arm64", version="9.9.9")
    inner = config["config"]
    assert config["architecture"] == "arm64" and config["os"] == "linux"
    assert inner["User"] == user
    assert inner.get("Entrypoint", [])[:2] == (entrypoint or [])
    assert inner.get("Cmd") == cmd
    assert inner["Labels"]["org.opencontainers.image.title"] == f"kasset/{short}:9.9.9"
    if short != "pause":
        assert "PYTHONDONTWRITEBYTECODE=1" in inner["Env"] and inner["WorkingDir"] == "/home/kasset"


def test_an_unknown_image_name_is_refused():
    with pytest.raises(ValueError, match="unknown image"):
        configure_image("nginx", oci_arch="amd64", version="1")


# ---------------------------------------------------------------------------------------------------- input hash


def make_repo(root: Path) -> Path:
    (root / "operator/kasset").mkdir(parents=True)
    (root / "operator/kasset/__pycache__").mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "kasset"\nversion = "1.2.3"\n')
    (root / "operator/kasset/__init__.py").write_text("")
    (root / "operator/kasset/sdk.py").write_text("def emit(): pass\n")
    (root / "operator/kasset/handlers.py").write_text("HANDLERS = 1\n")
    (root / "operator/kasset/__pycache__/handlers.cpython-311.pyc").write_bytes(b"1")
    (root / "sources/sqs").mkdir(parents=True)
    (root / "sources/sqs/requirements.txt").write_text("# pins\nboto3==1.0.0\nbotocore==1.0.0  # of boto3\n")
    (root / "sources/sqs/kasset_sqs_source.py").write_text("def main(): pass\n")
    return root


def digest_of(short: str, repo: Path, **overrides) -> str:
    args = {"version": "1.2.3", "arch": "amd64", "base_id": "bookworm-amd64-0123", **overrides}
    return collect_inputs(short, repo=repo, **args).compute_digest()


def test_input_hash_is_stable_and_changes_when_a_copied_file_changes(tmp_path):
    repo = make_repo(tmp_path)
    before = digest_of("step-python", repo)
    assert digest_of("step-python", repo) == before
    (repo / "operator/kasset/sdk.py").write_text("def emit(): return 1\n")
    assert digest_of("step-python", repo) != before


def test_operator_hash_follows_the_package_but_not_its_byte_code_caches(tmp_path):
    repo = make_repo(tmp_path)
    before = digest_of("operator", repo)
    (repo / "operator/kasset/__pycache__/handlers.cpython-311.pyc").write_bytes(b"2")
    assert digest_of("operator", repo) == before
    (repo / "operator/kasset/handlers.py").write_text("HANDLERS = 2\n")
    assert digest_of("operator", repo) != before


def test_input_hash_changes_with_version_architecture_and_base(tmp_path):
    repo = make_repo(tmp_path)
    before = digest_of("step-python", repo)
    assert digest_of("step-python", repo, version="1.2.4") != before
    assert digest_of("step-python", repo, arch="arm64") != before
    assert digest_of("step-python", repo, base_id="bookworm-amd64-4567") != before
    assert compute_base_key("amd64") == compute_base_key("amd64") != compute_base_key("arm64")


@pytest.mark.parametrize(("short", "path", "changes"), [
    ("step-aws", "sources/sqs/requirements.txt", True),
    ("step-aws", "operator/kasset/sdk.py", True),
    ("step-aws", "sources/sqs/kasset_sqs_source.py", False),
    ("sqs-source", "sources/sqs/requirements.txt", True),
    ("sqs-source", "sources/sqs/kasset_sqs_source.py", True),
    ("sqs-source", "operator/kasset/sdk.py", False),
    ("step-python", "sources/sqs/requirements.txt", False),
    ("operator", "sources/sqs/kasset_sqs_source.py", False),
])
def test_the_aws_images_rebuild_when_their_pins_or_copied_files_change_and_only_then(tmp_path, short, path, changes):
    repo = make_repo(tmp_path)
    before = digest_of(short, repo)
    with open(repo / path, "a") as f:
        f.write("# changed\n")
    assert (digest_of(short, repo) != before) is changes


def test_aws_requirements_are_read_without_comments_and_must_all_be_pinned(tmp_path):
    repo = make_repo(tmp_path)
    assert read_aws_requirements(repo) == ["boto3==1.0.0", "botocore==1.0.0"]
    (repo / "sources/sqs/requirements.txt").write_text("boto3==1.0.0\nurllib3>=2\n")
    with pytest.raises(SystemExit, match="not pinned: urllib3>=2"):
        read_aws_requirements(repo)


def test_boto3_is_pinned_once_for_the_images_and_venv_aws_and_kept_out_of_the_main_install():
    pins = dict(r.split("==") for r in read_aws_requirements())
    assert {"boto3", "botocore"} <= set(pins) and pins["boto3"] == pins["botocore"]
    # botocore wants python-dateutil<3 and the kubernetes client >=3: boto3 in .venv could not resolve
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    every = project["dependencies"] + [d for deps in project.get("optional-dependencies", {}).values() for d in deps]
    assert not [d for d in every if d.replace(" ", "").startswith(("boto3", "botocore"))]
    assert f"-r {AWS_REQUIREMENTS}" in (ROOT / "Makefile").read_text()
    for short in ("step-aws", "sqs-source"):
        dockerfile = (ROOT / f"images/{short}.Dockerfile").read_text()
        assert AWS_REQUIREMENTS in dockerfile and "boto3==" not in dockerfile


def test_every_image_has_a_dockerfile_and_a_row_in_the_readme():
    readme = (ROOT / "images/README.md").read_text()
    for short in IMAGE_NAMES:
        assert (ROOT / f"images/{short}.Dockerfile").is_file()
        assert f"| `kasset/{short}:<version>` |" in readme
        if short != "pause":  # the Python images take the repository root as context
            assert ".venv" in (ROOT / f"images/{short}.Dockerfile.dockerignore").read_text()


def test_the_real_repository_is_found_and_the_operator_image_ships_the_package_alone():
    assert REPO == ROOT and (REPO / "pyproject.toml").is_file()
    sources = [p.relative_to(REPO / "operator/kasset").as_posix() for p in list_operator_sources()]
    assert "handlers.py" in sources
    assert not [s for s in sources if "__pycache__" in s]
    assert not (REPO / "operator/kasset/localcluster").exists()  # development tooling lives in tools/
    assert IMAGE_NAMES == ["pause", "step-python", "step-aws", "operator", "sqs-source"]


# ---------------------------------------------------------------------------------------------------- the package


def test_the_builder_imports_only_the_standard_library_and_its_own_package():
    code = (
        "import sys, importlib, pkgutil\n"
        "before = set(sys.modules)\n"
        "import kasset_tools.images as p\n"
        "for m in pkgutil.iter_modules(p.__path__): importlib.import_module(p.__name__ + '.' + m.name)\n"
        "new = sorted(set(sys.modules) - before)\n"
        "print('\\n'.join(m for m in new if not (m.split('.')[0] in sys.stdlib_module_names or m.startswith('_')"
        " or m == 'kasset_tools' or m.startswith('kasset_tools.images'))))\n"
    )
    assert run_isolated(code) == ""


def test_the_command_line_keeps_its_flags():
    done = subprocess.run([sys.executable, "-m", "kasset_tools.images", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for flag in ("--containerd-address", "--ctr", "--only", "--force", "--force-base", "--json"):
        assert flag in done.stdout
    assert io.StringIO(done.stdout).readline().startswith("usage: python -m kasset_tools.images")
