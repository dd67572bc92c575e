"""What the two Java servers share: finding `java` and the cached jars, launching, probing, remembering.

A server lives in its own folder: its config, `<name>.log`, `<name>.pid` and `state.json` (the port,
address and credentials it was started with, so `status` and `down` from another process find it again).
Processes are started and stopped through `localcluster.procs` (one process group each, bounded waits).
This module knows nothing about SQS or S3; `elasticmq.py` and `s3proxy.py` do.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..localcluster import procs
from ..localcluster.layout import REPO, cache_dir, read_versions

# Small heaps and the C1 compiler only: both servers start in seconds and stay light on a 2-core machine.
JVM_OPTIONS = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
INSTALL_HINT = "run `bash hack/install-jars.sh` (or `make tools`)"
StartFailed = procs.StartFailed
BIND_FAILURE = "java.net.BindException"  # logged by both servers when their port is taken
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


#: What clients of both servers sign with (ElasticMQ accepts any credentials; S3Proxy checks these).
REGION = "us-east-1"
ACCESS_KEY = "kasset"
SECRET_KEY = "kasset-secret"


@dataclass(frozen=True)
class Server:
    """A running server: its folder and pid, where clients and pods reach it, and what they sign with."""

    directory: Path
    host_address: str
    port: int
    pid: int
    region: str = REGION
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    @property
    def endpoint(self) -> str:
        return f"http://{self.host_address}:{self.port}"


class MissingDependency(RuntimeError):
    """`java` or a server's jars are not installed; the message says how to install them."""


def default_servers_dir() -> Path:
    """Where `python -m kasset_tools.servers` keeps its servers; tests use temporary folders."""
    return Path(os.environ.get("KASSET_SERVERS_DIR", REPO / ".kasset" / "servers"))


def version(key: str) -> str:
    """A pinned version from hack/versions.env, e.g. `version("ELASTICMQ_VERSION")`."""
    return read_versions()[key]


def jar_dir(name: str, pinned: str) -> Path:
    """The folder hack/install-jars.sh filled for `name` at version `pinned`; raises when it did not."""
    folder = cache_dir() / "jars" / f"{name}-{pinned}"
    if not (folder / ".done").is_file():
        raise MissingDependency(f"{name} {pinned} is not installed in {folder}; {INSTALL_HINT}")
    return folder


def java() -> str:
    """The `java` executable: $JAVA_HOME/bin/java, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    candidates = [str(Path(home) / "bin" / "java")] if home else []
    candidates.append(shutil.which("java") or "")
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    raise MissingDependency("java not found (set JAVA_HOME or install a JRE >= 17: apt-get install "
                            "openjdk-17-jre-headless)")


def choose_port(port: int) -> int:
    """`port` itself when free, or a free one when it is 0 (the servers write their port into URLs).
    A port in use raises StartFailed at once: ElasticMQ would log the BindException and keep running."""
    if port == 0:
        return procs.free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError as exc:
            raise StartFailed(f"port {port} is not free ({exc.strerror}); choose another or 0") from None
    return port


def answers_http(url: str) -> bool:
    """True once anything answers HTTP at `url`, whatever the status (403 and 400 count); never
    through an HTTP proxy from the environment."""
    try:
        with _NO_PROXY.open(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def launch(name: str, argv: list[str], *, directory: Path, probe_url: str, timeout: float) -> int:
    """Start `argv` in the background, logging to `directory/<name>.log`; return its pid once
    `probe_url` answers. Raises StartFailed, quoting the log, when it exits or stays silent."""
    log = directory / f"{name}.log"
    log.unlink(missing_ok=True)  # this start's lines only, for the error messages
    pid = procs.start(name, argv, run_dir=directory)

    def ready() -> bool:
        failure = next((line for line in log.read_text(errors="replace").splitlines()
                        if BIND_FAILURE in line), None)
        if failure:
            raise StartFailed(f"{name} could not bind its port: {failure.strip()} (log: {log})")
        return answers_http(probe_url)

    try:
        procs.wait_until(ready, name=name, pid=pid, log=log, timeout=timeout)
    except BaseException:  # not ready, or interrupted: leave nothing running
        procs.stop(name, directory, timeout=STOP_TIMEOUT_SECONDS)
        raise
    return pid


def running_pid(name: str, directory: Path) -> int | None:
    return procs.pid_of(name, directory)


def halt(name: str, directory: Path, *, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; True if it was running. Calling it again does nothing."""
    return procs.stop(name, directory, timeout=timeout)


def save_state(directory: Path, state: dict) -> None:
    (directory / "state.json").write_text(json.dumps(state, indent=2) + "\n")


def load_state(directory: Path) -> dict | None:
    try:
        return json.loads((directory / "state.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
