"""The Kasset operator as the tests run it: a real `kopf run` process against the test cluster.

Each instance watches namespaces matching one pattern, so the integration tier (steps on kwok nodes) and
the e2e tier (steps on the real node) can each have their own operator without reconciling each other's
Runs. `kill()` is SIGKILL: what a crash looks like to the cluster.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from kasset.cli import operator_argv
from support.clusterinfo import wait_for


class OperatorProcess:
    def __init__(self, *, kubeconfig: Path, namespace_pattern: str, node_kind: str, log_path: Path,
                 extra_env: dict[str, str] | None = None):
        self.kubeconfig = kubeconfig
        self.namespace_pattern = namespace_pattern
        self.log_path = log_path
        self.env = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig),
            "KASSET_STEP_NODE_SELECTOR": json.dumps({"kasset.dev/node-kind": node_kind}),
            "KASSET_METRICS_PORT": "0",
            "KASSET_WEBHOOK_PORT": "0",
            "KASSET_NAMESPACES": json.dumps([namespace_pattern]),
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        marker = "Kasset operator ready"
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [*operator_argv(), "--verbose"],
                stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
            )

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"operator exited with {self.proc.returncode}:\n{self.log_tail()}")
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return marker.encode() in f.read()

        wait_for(ready, timeout=60, what="the operator to log that it is ready")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout` (then `exit_code` is -9)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def exit_code(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def tracebacks(self) -> list[str]:
        """Every traceback the operator logged (each one is a bug: expected failures are logged as lines)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return []
        found = []
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Traceback (most recent call last)"):
                end = next((j for j in range(i + 1, len(lines)) if lines[j] and not lines[j].startswith(" ")), i)
                found.append("\n".join(lines[max(0, i - 1): end + 1]))
        return found

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def operator_fixture(kubeconfig: Path, log_path: Path, *, pattern: str, node_kind: str,
                     env: dict[str, str] | None = None) -> Iterator[OperatorProcess]:
    """The body of an operator fixture (`yield from`): started and ready, yielded, stopped with SIGTERM; fails
    when it did not exit cleanly."""
    op = OperatorProcess(kubeconfig=kubeconfig, namespace_pattern=pattern, node_kind=node_kind, log_path=log_path,
                         extra_env=env)
    op.start()
    try:
        yield op
    finally:
        op.stop()
        print(f"[operator {pattern}, {node_kind} node] log: {log_path}")
    assert op.exit_code == 0, f"the operator did not stop cleanly on SIGTERM:\n{op.log_tail()}"


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on `host` now, for an operator's (or a server's) port; 0.0.0.0 when pods must reach it."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
