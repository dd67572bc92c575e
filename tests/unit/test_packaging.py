"""The package is what ships: the wheel holds `kasset` alone (the local cluster, the image builder and the demo are
the `kasset-tools` distribution in tools/), and an installed wheel renders every CRD from its models, with no
repository around it."""

from __future__ import annotations

import email
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
                   check=True, capture_output=True, timeout=300)
    (path,) = out.glob("kasset-*.whl")
    return path


def test_the_wheel_holds_the_kasset_package_alone(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"kasset", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    assert not [n for n in names if "localcluster" in n or n.endswith("demo.py") or "/images/" in n]


def test_the_wheel_does_not_depend_on_the_tools_dependencies(wheel: Path):
    with zipfile.ZipFile(wheel) as z:
        meta = email.message_from_bytes(z.read(next(n for n in z.namelist() if n.endswith("/METADATA"))))
    requires = [r.split("=")[0].split(";")[0].strip() for r in meta.get_all("Requires-Dist") or []]
    assert "kopf" in requires and "cryptography" not in requires


def test_an_installed_wheel_renders_the_same_crds_as_the_repository(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        f"import sys; sys.path.insert(0, {str(site)!r})\n"
        "import json, kasset\n"
        f"assert kasset.__file__.startswith({str(site)!r}), kasset.__file__\n"
        "from kasset.k8s.crds import render_crds\n"
        "print(json.dumps(render_crds()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rendered = {crd["metadata"]["name"]: crd for crd in yaml.safe_load(done.stdout)}
    in_repo = {crd["metadata"]["name"]: crd for crd in map(yaml.safe_load, (p.read_text() for p in (ROOT / "crds").glob("*.yaml")))}
    assert rendered == in_repo
