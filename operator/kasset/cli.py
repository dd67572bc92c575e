"""The `kasset` command: `run` the operator, `demo` the main job on the local cluster.

`demo` uses the cluster in $KUBECONFIG when given, and otherwise starts the local one (`make cluster-up`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


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


def cmd_run(args: argparse.Namespace) -> int:
    install_crds()
    os.environ.update(operator_env(args.namespace))
    os.execv(sys.executable, operator_argv())


def cmd_demo(args: argparse.Namespace) -> int:
    from kasset.demo import run_demo

    return run_demo()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kasset", description="Kasset: data pipelines as Kubernetes resources.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the operator against the cluster in $KUBECONFIG")
    run.add_argument("--namespace", help="watch one namespace (default: all)")
    run.set_defaults(func=cmd_run)
    demo = sub.add_parser("demo", help="run the main example on the local cluster (started if needed)")
    demo.set_defaults(func=cmd_demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
