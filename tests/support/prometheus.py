"""A real Prometheus (Debian's package) for the tests: scrapes given targets every second and answers queries.

`PrometheusServer(targets, directory)` writes its configuration into `directory`, starts `/usr/bin/prometheus` on a
free port of 127.0.0.1, and waits (bounded) until it is ready; `query(expr)` returns the instant vector (or
scalar) of the HTTP API; `stop()` ends it and its log stays in `directory/prometheus.log`.
"""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from support.clusterinfo import wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrometheusServer:
    def __init__(self, targets: list[str], directory: Path, *, job: str = "kasset"):
        self.directory, self.job = directory, job
        self.port = _free_port()
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}]}]}
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = directory / "prometheus.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                ["/usr/bin/prometheus", f"--config.file={directory / 'prometheus.yml'}",
                 f"--storage.tsdb.path={directory / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=out, stderr=subprocess.STDOUT)
        wait_for(self._ready, timeout=60, what=f"Prometheus to be ready (log: {self.log})", interval=0.2)

    def _ready(self) -> bool:
        assert self.proc.poll() is None, self.log.read_text()[-2000:]
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2).status == 200
        except OSError:
            return False

    def _api(self, path: str, **params: str) -> dict:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            body = json.load(urllib.request.urlopen(url, timeout=10))
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"Prometheus refused {params}: {exc.read().decode()[:500]}") from None
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list:
        """The result of an instant query: series (or a scalar's [time, value]); empty when there is no data."""
        data = self._api("query", query=expr)
        return data["result"] if data["resultType"] in ("vector", "matrix") else [data["result"]]

    def targets_up(self) -> int:
        active = self._api("targets")["activeTargets"]
        return sum(1 for t in active if t["labels"]["job"] == self.job and t["health"] == "up")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
