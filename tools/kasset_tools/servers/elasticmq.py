"""ElasticMQ, a real SQS-compatible server (Scala, in-memory), for tests and examples.

`start` writes a HOCON config into the server's folder and runs `java -cp '<jars>/*'
org.elasticmq.server.Main` in the background on 0.0.0.0; `stop` ends it; `find` returns the one running
from a folder. Queue URLs name the *host address* (by default the node IP the local cluster's real node
advertises), so pods on that node can use them. Messages live in memory only: a restart loses them.
It does not install the jars (hack/install-jars.sh does) and knows nothing about Kasset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..localcluster.cluster import detect_node_ip
from . import _jvm

NAME = "elasticmq"
DEFAULT_PORT = 9324
REGION = _jvm.REGION
ACCOUNT_ID = "000000000000"  # ElasticMQ's default account id, the one in every queue URL
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.fifo)?$")


@dataclass(frozen=True)
class ElasticMQ(_jvm.Server):
    """A running ElasticMQ. It accepts any credentials, but SQS clients refuse to sign a request without some:
    they sign with the defaults of `_jvm.Server`."""

    def queue_url(self, name: str) -> str:
        return f"{self.endpoint}/{ACCOUNT_ID}/{name}"


def default_dir() -> Path:
    return _jvm.default_servers_dir() / NAME


def render_config(*, port: int, host_address: str, queues: Iterable[str] = ()) -> str:
    """The HOCON config: SQS on 0.0.0.0:`port`, queue URLs on `host_address`, `queues` created at start."""
    lines = [
        'include classpath("application.conf")',
        f'rest-sqs {{ enabled = true, bind-port = {port}, bind-hostname = "0.0.0.0", sqs-limits = strict }}',
        f'node-address {{ protocol = http, host = "{host_address}", port = {port}, context-path = "" }}',
        "generate-node-address = false",
        f'aws {{ region = "{REGION}", accountId = "{ACCOUNT_ID}" }}',
        "queues {",
    ]
    for name in queues:
        if len(name) > 80 or not _QUEUE_NAME.match(name):
            raise ValueError(f"invalid SQS queue name {name!r}: letters, digits, '-' and '_', "
                             "at most 80 characters with an optional '.fifo'")
        lines.append(f'  "{name}" {{ {"fifo = true" if name.endswith(".fifo") else ""} }}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def find(directory: Path | None = None) -> ElasticMQ | None:
    """The ElasticMQ running from `directory`, or None."""
    directory = Path(directory or default_dir())
    pid = _jvm.running_pid(NAME, directory)
    state = _jvm.load_state(directory)
    if pid is None or state is None:
        return None
    return ElasticMQ(directory=directory, host_address=state["host_address"], port=state["port"], pid=pid)


def start(directory: Path | None = None, *, port: int = DEFAULT_PORT, host_address: str | None = None,
          queues: Iterable[str] = (), timeout: float = _jvm.START_TIMEOUT_SECONDS) -> ElasticMQ:
    """Start ElasticMQ from `directory` (port 0: a free one) and wait until it answers HTTP.
    One already running from `directory` is returned as it is."""
    directory = Path(directory or default_dir())
    running = find(directory)
    if running is not None:
        return running
    classpath = _jvm.jar_dir(NAME, _jvm.version("ELASTICMQ_VERSION"))
    java = _jvm.java()
    host_address = host_address or detect_node_ip()
    port = _jvm.choose_port(port)
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "elasticmq.conf"
    conf.write_text(render_config(port=port, host_address=host_address, queues=queues))
    argv = [java, *_jvm.JVM_OPTIONS, f"-Dconfig.file={conf}", "-cp", f"{classpath}/*",
            "org.elasticmq.server.Main"]
    _jvm.save_state(directory, {"host_address": host_address, "port": port})
    pid = _jvm.launch(NAME, argv, directory=directory, timeout=timeout,
                      probe_url=f"http://127.0.0.1:{port}/?Action=ListQueues")
    return ElasticMQ(directory=directory, host_address=host_address, port=port, pid=pid)


def stop(directory: Path | None = None, *, timeout: float = _jvm.STOP_TIMEOUT_SECONDS) -> bool:
    """Stop the ElasticMQ running from `directory`; True if one was running."""
    return _jvm.halt(NAME, Path(directory or default_dir()), timeout=timeout)
