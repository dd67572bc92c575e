"""The `kasset` command (click): `run` the operator, `demo` the main job on the local cluster, `backfill` a Job
over a range of partitions (see `kasset.commands.backfill`).

`demo` uses the cluster in $KUBECONFIG when given, and otherwise starts the local one (`make cluster-up`).
Exit codes: 0 success, 1 the work failed, 2 usage or API errors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import click

from kasset.commands.backfill import backfill


def operator_argv() -> list[str]:
    """The operator's command line: kopf hosts it; which namespaces it serves is `KASSET_NAMESPACES`."""
    return [sys.executable, "-m", "kopf", "run", "--standalone", "--all-namespaces", "-m", "kasset.handlers"]


def operator_env(namespace: str | None) -> dict[str, str]:
    return {"KASSET_NAMESPACES": json.dumps([namespace])} if namespace else {}


def start_operator(kubeconfig: Path, *, log_path: Path, namespace: str | None = None,
                   env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.Popen:
    """Start the operator as a child process and wait (bounded) until it logs that it is ready."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(operator_argv(), stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **operator_env(namespace), **(env or {}),
                                     "KUBECONFIG": str(kubeconfig)})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if b"Kasset operator ready" in log_path.read_bytes():
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"the operator exited with {proc.returncode}; see {log_path}")
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"the operator did not get ready within {timeout}s; see {log_path}")


def install_crds(kubeconfig: Path | None = None) -> None:
    from kasset.k8s import connect
    from kasset.k8s.crds import install_crds as install

    names = install(connect(str(kubeconfig) if kubeconfig else None))
    print(f"CRDs installed: {', '.join(names)}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Kasset: data pipelines as Kubernetes resources."""


@cli.command("run")
@click.option("--namespace", help="Watch one namespace (default: all).")
def run_operator(namespace: str | None) -> int:
    """Run the operator against the cluster in $KUBECONFIG."""
    install_crds()
    os.environ.update(operator_env(namespace))
    os.execv(sys.executable, operator_argv())


@cli.command("demo")
def demo() -> int:
    """Run the main example on the local cluster (started if needed)."""
    from kasset.demo import run_demo

    return run_demo()


cli.add_command(backfill)


def main(argv: list[str] | None = None) -> int:
    """The console entry point: run a command and return its exit code (click's own for usage errors)."""
    try:
        result = cli.main(args=argv, prog_name="kasset", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
