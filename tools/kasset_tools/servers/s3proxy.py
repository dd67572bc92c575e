"""S3Proxy, a real S3-compatible server, storing objects as plain files, for tests and examples.

`start` writes a properties file into the server's folder and runs `java -jar s3proxy.jar --properties`
in the background on 0.0.0.0 with the jclouds `filesystem` backend (buckets are folders under
`<folder>/data`, so objects survive a restart); `stop` ends it; `find` returns the one running from a
folder. Requests must be signed (AWS v2 or v4) with the configured access key and secret. Clients use
path-style addressing (`http://host:port/bucket/key`); virtual-host buckets are not configured.
It does not install the jar (hack/install-jars.sh does) and knows nothing about Kasset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..localcluster.cluster import detect_node_ip
from . import _jvm

NAME = "s3proxy"
DEFAULT_PORT = 9000
ACCESS_KEY = _jvm.ACCESS_KEY
SECRET_KEY = _jvm.SECRET_KEY


@dataclass(frozen=True)
class S3Proxy(_jvm.Server):
    """A running S3Proxy; it checks the credentials it was started with."""

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"


def default_dir() -> Path:
    return _jvm.default_servers_dir() / NAME


def render_properties(*, port: int, data_dir: Path, access_key: str, secret_key: str) -> str:
    """The S3Proxy properties: signed requests on 0.0.0.0:`port`, buckets as folders in `data_dir`."""
    for label, value in (("access key", access_key), ("secret key", secret_key)):
        if not value or any(c.isspace() or c == "\\" for c in value):
            raise ValueError(f"invalid S3 {label} {value!r}: non-empty, no spaces or backslashes")
    return "\n".join([
        f"s3proxy.endpoint=http://0.0.0.0:{port}",
        "s3proxy.authorization=aws-v2-or-v4",
        f"s3proxy.identity={access_key}",
        f"s3proxy.credential={secret_key}",
        "jclouds.provider=filesystem",
        f"jclouds.filesystem.basedir={data_dir}",
    ]) + "\n"


def find(directory: Path | None = None) -> S3Proxy | None:
    """The S3Proxy running from `directory`, or None."""
    directory = Path(directory or default_dir())
    pid = _jvm.running_pid(NAME, directory)
    state = _jvm.load_state(directory)
    if pid is None or state is None:
        return None
    return S3Proxy(directory=directory, host_address=state["host_address"], port=state["port"], pid=pid,
                   access_key=state["access_key"], secret_key=state["secret_key"])


def start(directory: Path | None = None, *, port: int = DEFAULT_PORT, host_address: str | None = None,
          access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY,
          timeout: float = _jvm.START_TIMEOUT_SECONDS) -> S3Proxy:
    """Start S3Proxy from `directory` (port 0: a free one) and wait until it answers HTTP.
    One already running from `directory` is returned as it is."""
    directory = Path(directory or default_dir())
    running = find(directory)
    if running is not None:
        return running
    pinned = _jvm.version("S3PROXY_VERSION")
    jar = _jvm.jar_dir(NAME, pinned) / f"s3proxy-{pinned}-jar-with-dependencies.jar"
    java = _jvm.java()
    host_address = host_address or detect_node_ip()
    port = _jvm.choose_port(port)
    data_dir = directory / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    props = directory / "s3proxy.properties"
    props.write_text(render_properties(port=port, data_dir=data_dir, access_key=access_key,
                                       secret_key=secret_key))
    argv = [java, *_jvm.JVM_OPTIONS, "-jar", str(jar), "--properties", str(props)]
    _jvm.save_state(directory, {"host_address": host_address, "port": port,
                                "access_key": access_key, "secret_key": secret_key})
    pid = _jvm.launch(NAME, argv, directory=directory, timeout=timeout,
                      probe_url=f"http://127.0.0.1:{port}/")
    return S3Proxy(directory=directory, host_address=host_address, port=port, pid=pid,
                   access_key=access_key, secret_key=secret_key)


def stop(directory: Path | None = None, *, timeout: float = _jvm.STOP_TIMEOUT_SECONDS) -> bool:
    """Stop the S3Proxy running from `directory`; True if one was running. Its data stays."""
    return _jvm.halt(NAME, Path(directory or default_dir()), timeout=timeout)
