"""The operator's HTTP ports hold against hostile callers: lengths that lie, bodies over the limit, slow and
half-sent requests. Real sockets against the real server (waitress), a route that records what it was given."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request

import pytest

from kasset.metrics import Metrics
from kasset.runtime.server import HttpServer, Limits, probe_routes


@pytest.fixture
def seen():
    return []


@pytest.fixture
def webhooks(seen):
    def route(path, headers, body):
        seen.append((path, headers.get("x-event-id"), len(body)))
        return 201, "application/json", b'{"ok":true}\n'

    server = HttpServer(name="webhooks", port=0, host="127.0.0.1", post_routes={"/sensors/": route},
                        limits=Limits(threads=4, connections=512, read_timeout_seconds=1.0))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def probes():
    server = HttpServer(name="probes", port=0, host="127.0.0.1",
                        routes=probe_routes(registry=Metrics().registry, ready=threading.Event()))
    server.start()
    yield server
    server.stop()


def exchange(port: int, raw: bytes, *, timeout: float = 5.0) -> bytes:
    """Send `raw`, then read the answer until the server closes or `timeout`."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"Connection: close" not in b"".join(chunks):
                    break
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


def post(length: str, body: bytes = b"") -> bytes:
    return (b"POST /sensors/ns/hook HTTP/1.1\r\nHost: x\r\nContent-Length: " + length.encode() +
            b"\r\nX-Event-Id: e1\r\n\r\n" + body)


def test_a_well_formed_post_reaches_its_route_with_path_headers_and_body(webhooks, seen):
    answer = exchange(webhooks.port, post("2", b"{}"))
    assert answer.startswith(b"HTTP/1.1 201") and seen == [("ns/hook", "e1", 2)]


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", ""])
def test_a_negative_or_non_numeric_content_length_is_refused_before_any_route_runs(webhooks, seen, length):
    answer = exchange(webhooks.port, post(length, b"x" * 100))
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert seen == []


def test_a_body_over_the_limit_is_refused_unread(webhooks, seen):
    with socket.create_connection(("127.0.0.1", webhooks.port), timeout=5) as sock:
        sock.sendall(post(str(5 * 1024 * 1024)))
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert seen == []


def test_a_chunked_body_over_the_limit_is_refused(webhooks, seen):
    chunk = b"%x\r\n%s\r\n" % (512 * 1024, b"x" * 512 * 1024)
    raw = b"POST /sensors/ns/hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 3 + b"0\r\n\r\n"
    assert exchange(webhooks.port, raw).startswith(b"HTTP/1.1 413")
    assert seen == []


def test_a_request_that_does_not_arrive_whole_within_the_read_timeout_is_cut_off(webhooks):
    """Slowloris: one byte a while keeps waitress's idle timer happy; the read deadline closes it anyway."""
    with socket.create_connection(("127.0.0.1", webhooks.port), timeout=10) as sock:
        sock.sendall(b"POST /sensors/ns/hook HTTP/1.1\r\n")
        began = time.monotonic()
        closed_after = None
        while time.monotonic() - began < 8:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
                if sock.recv(1, socket.MSG_DONTWAIT) == b"":
                    closed_after = time.monotonic() - began
                    break
            except BlockingIOError:
                pass
            except OSError:
                closed_after = time.monotonic() - began
                break
            time.sleep(0.2)  # the slow client's pace, not a wait for the server
    assert closed_after is not None and closed_after < 4, closed_after


def test_300_half_sent_requests_hold_no_thread_and_do_not_starve_either_port(webhooks, probes, seen):
    threads_before = threading.active_count()
    held = [socket.create_connection(("127.0.0.1", webhooks.port), timeout=5) for _ in range(300)]
    try:
        for sock in held:
            sock.sendall(b"POST /sensors/ns/hook HTTP/1.1\r\nContent-Length: 10\r\n\r\n{")
        began = time.monotonic()
        assert urllib.request.urlopen(f"http://127.0.0.1:{probes.port}/healthz", timeout=5).status == 200
        assert exchange(webhooks.port, post("2", b"{}")).startswith(b"HTTP/1.1 201")
        assert time.monotonic() - began < 2
        assert threading.active_count() <= threads_before + 1  # no thread per connection
    finally:
        for sock in held:
            sock.close()


def test_get_on_the_webhook_path_is_405_and_unknown_paths_404(webhooks):
    assert exchange(webhooks.port, b"GET /sensors/ns/hook HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 405")
    assert exchange(webhooks.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 404")
