"""Start, find and stop the cluster's daemons: one process group each, a pid file and a log file each.

Processes outlive the command that started them (`make cluster-up` returns while they run); `stop` finds
them again through their pid files. Readiness is waited for with bounded polls, never fixed sleeps.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


# Daemons started by this very process: kept referenced so that they are reaped (no zombies) and never
# garbage-collected while running (which Python reports as a ResourceWarning).
_children: dict[int, subprocess.Popen] = {}


class StartFailed(RuntimeError):
    """A daemon exited or did not become ready in time; the message quotes its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def url_ok(url: str, *, context=None, timeout: float = 3) -> bool:
    """True when `url` answers 200 (a health endpoint); any connection or TLS error is False."""
    import urllib.request

    try:
        with urllib.request.urlopen(url, context=context, timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def start(name: str, argv: list[str], *, run_dir: Path, env: dict[str, str] | None = None) -> int:
    """Start `argv` in its own session with output to `run_dir/<name>.log`; return its pid."""
    log = run_dir / f"{name}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, **(env or {})},
        )
    (run_dir / f"{name}.pid").write_text(str(proc.pid))
    _children[proc.pid] = proc
    return proc.pid


def pid_of(name: str, run_dir: Path) -> int | None:
    try:
        pid = int((run_dir / f"{name}.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if alive(pid) else None


def alive(pid: int) -> bool:
    if pid in _children:
        return _children[pid].poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def stop(name: str, run_dir: Path, *, timeout: float = 20.0) -> bool:
    """SIGTERM the daemon's process group, SIGKILL it after `timeout`; True if it was running."""
    pid = pid_of(name, run_dir)
    (run_dir / f"{name}.pid").unlink(missing_ok=True)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        _signal_group(pid, signal.SIGKILL)
    child = _children.pop(pid, None)
    if child is not None:
        child.wait(timeout=timeout)
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def wait_until(
    check: Callable[[], bool], *, name: str, pid: int | None, log: Path | None, timeout: float
) -> None:
    """Poll `check` (bounded by `timeout`); fail early, quoting the log, if the process exits."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        if check():
            return
        if pid is not None and not alive(pid):
            raise StartFailed(f"{name} exited during start-up; last lines of {log}:\n{log_tail(log)}")
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    tail = log_tail(log) if log else ""
    raise StartFailed(f"{name} was not ready within {timeout:.0f}s; last lines of {log}:\n{tail}")
