"""The pure layers import neither kopf nor the Kubernetes client (STYLE lesson 10)."""

import subprocess
import sys

from kasset_factories import run_isolated


def test_api_planning_builders_and_sdk_import_without_kopf_or_the_kubernetes_client():
    code = (
        "import sys\n"
        "import kasset.api, kasset.api.crd, kasset.planning, kasset.builders, kasset.sdk\n"
        "print(sorted(m for m in ('kopf', 'kubernetes') if m in sys.modules))\n"
    )
    assert run_isolated(code) == "[]"


def test_import_linter_contracts_are_kept():
    """.importlinter: the pure layers stay pure, and only kasset.handlers uses kopf."""
    from pathlib import Path

    lint = Path(sys.executable).with_name("lint-imports")
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([str(lint), "--config", str(repo / ".importlinter")], capture_output=True, text=True,
                          timeout=120, cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
