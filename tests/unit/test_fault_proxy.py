"""The tests' TCP fault proxy (support.faultproxy) in each of its modes, in front of a real echo server on
127.0.0.1: what the leader-election integration test relies on it to do."""

from __future__ import annotations

import socket
import threading

import pytest

from support.faultproxy import FaultProxy


def echo_server() -> socket.socket:
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except ConnectionResetError:  # the proxy resets its upstream side too
                pass

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return server


@pytest.fixture
def proxy():
    server = echo_server()
    proxy = FaultProxy("127.0.0.1", server.getsockname()[1]).start()
    yield proxy
    proxy.close()
    server.close()


def dial(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=2)


def test_pass_forwards_both_ways(proxy):
    with dial(proxy) as conn:
        conn.sendall(b"ping")
        assert conn.recv(4) == b"ping"


def test_blackhole_holds_open_and_new_connections_and_pass_delivers_what_was_held(proxy):
    with dial(proxy) as before:
        proxy.mode = "blackhole"
        before.settimeout(0.3)
        before.sendall(b"held")
        with pytest.raises(TimeoutError):
            before.recv(4)
        with dial(proxy) as during:  # accepted, then silent
            during.settimeout(0.3)
            during.sendall(b"x")
            with pytest.raises(TimeoutError):
                during.recv(1)
        proxy.mode = "pass"
        before.settimeout(2)
        assert before.recv(4) == b"held"


def test_refuse_stops_listening_and_pass_listens_again_on_the_same_port(proxy):
    port = proxy.port
    proxy.mode = "refuse"
    with pytest.raises(ConnectionRefusedError):
        dial(proxy)
    proxy.mode = "pass"
    assert proxy.port == port
    with dial(proxy) as conn:
        conn.sendall(b"back")
        assert conn.recv(4) == b"back"


def test_reset_resets_open_connections(proxy):
    with dial(proxy) as conn:
        conn.sendall(b"a")
        assert conn.recv(1) == b"a"
        proxy.mode = "reset"
        with pytest.raises(ConnectionResetError):
            conn.sendall(b"b")
            conn.recv(1)
