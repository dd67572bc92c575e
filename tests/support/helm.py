"""Helm, as the tests run it: the binary `make tools` builds (pinned in hack/versions.env), the chart's path,
and rendering a scenario into its objects."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from kasset_tools.localcluster.layout import REPO, binaries

CHART = REPO / "charts" / "kasset"
KUBE_VERSION = "1.36.0"


def helm(*args: str, kubeconfig: Path | None = None, timeout: float = 120, check: bool = True) -> str:
    """Run helm; its stdout (stderr joins it in the error when it fails)."""
    argv = [str(binaries().helm), *args, *([f"--kubeconfig={kubeconfig}"] if kubeconfig else [])]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode:
        raise AssertionError(f"helm {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr if not check else done.stdout


def render(*values_files: Path, namespace: str = "kasset-system", sets: tuple[str, ...] = ()) -> list[dict]:
    """The objects `helm template` renders for the given values files (the release is `kasset`)."""
    args = ["template", "kasset", str(CHART), "-n", namespace, "--kube-version", KUBE_VERSION]
    for path in values_files:
        args += ["-f", str(path)]
    for item in sets:
        args += ["--set", item]
    return [doc for doc in yaml.safe_load_all(helm(*args)) if doc]
