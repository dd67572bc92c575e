"""An API call is tried once and bounded by its timeout: against a real socket server on 127.0.0.1 that reads
each request and never answers (a hung API server), no cluster needed."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import yaml

from kasset.k8s import ApiError, Kube, connect
from kasset.k8s.lease import Leases


class HungServer:
    """Accepts connections, counts the HTTP requests that arrive, answers none of them."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        try:
            while data := conn.recv(65536):
                self.requests += data.count(b"HTTP/1.1\r\n")
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def hung(tmp_path: Path):
    server = HungServer()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "hung",
        "clusters": [{"name": "hung", "cluster": {"server": f"http://127.0.0.1:{server.port}"}}],
        "users": [{"name": "nobody", "user": {}}],
        "contexts": [{"name": "hung", "context": {"cluster": "hung", "user": "nobody"}}]}))
    yield server, connect(str(kubeconfig))
    server.close()


def test_a_hung_call_is_sent_once_and_fails_within_its_timeout(hung):
    server, api = hung
    kube = Kube(api, timeout=(1.0, 0.5))
    started = time.monotonic()
    with pytest.raises(ApiError):
        kube.get_job("default", "anything")
    took = time.monotonic() - started
    assert server.requests == 1, "urllib3 retried the request behind the caller's back"
    assert took < 1.5, f"one read timeout is 0.5 s, the call took {took:.1f} s"


def test_a_hung_lease_read_fails_within_the_leases_own_timeout_not_the_clients(hung):
    server, api = hung
    leases = Leases(Kube(api, timeout=(5.0, 30.0)), timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ApiError):
        leases.get("default", "kasset-operator")
    assert time.monotonic() - started < 1.5
    assert server.requests == 1
