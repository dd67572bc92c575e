"""The `kasset` command (click): `run` the operator, `backfill` a Job over a range of partitions (see
`kasset.commands.backfill`). The demo and the local cluster are development tooling (`tools/`, `make demo`).

Exit codes: 0 success, 1 the work failed, 2 usage or API errors.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from kasset.commands.backfill import backfill


def operator_argv() -> list[str]:
    """The operator's command line: kopf hosts it; which namespaces it serves is `KASSET_NAMESPACES`."""
    return [sys.executable, "-m", "kopf", "run", "--standalone", "--all-namespaces", "-m", "kasset.handlers"]


def operator_env(namespace: str | None) -> dict[str, str]:
    return {"KASSET_NAMESPACES": json.dumps([namespace])} if namespace else {}


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
