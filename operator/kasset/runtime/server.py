"""The operator's one HTTP port: `/metrics` (Prometheus text format), `/healthz` (the process serves),
`/readyz` (200 only while the caches are synced and the watches run; a leader-election standby is ready too),
and `POST /sensors/<namespace>/<name>`, the Sensors' webhooks (served by every replica: a Run's name derives
from its event, so two replicas answering one event create one Run).

A standard-library `ThreadingHTTPServer` in a daemon thread: a scrape never waits for a reconcile, and `stop()`
closes the socket at once. Routes are a table, so later endpoints (webhooks) join the same port.

Does not: define metrics (`kasset.metrics`) or decide readiness (the controller sets the event it reads).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger("kasset.server")
Route = Callable[[], tuple[int, str, bytes]]
#: (path under the prefix, headers, body) -> (status, content type, body)
PostRoute = Callable[[str, Mapping[str, str], bytes], tuple[int, str, bytes]]
#: Largest request body read; larger ones get 413 unread.
MAX_BODY_BYTES = 1024 * 1024


class _Server(ThreadingHTTPServer):
    #: listen() backlog: the standard library's 5 resets connections when sources open new ones at 50/s.
    request_queue_size = 128


class OperatorServer:
    def __init__(self, *, registry: CollectorRegistry, ready: threading.Event, port: int, host: str = "0.0.0.0"):
        self.routes: dict[str, Route] = {
            "/metrics": lambda: (200, CONTENT_TYPE_LATEST, generate_latest(registry)),
            "/healthz": lambda: (200, "text/plain; charset=utf-8", b"ok\n"),
            "/readyz": lambda: ((200, "text/plain; charset=utf-8", b"ready\n") if ready.is_set()
                                else (503, "text/plain; charset=utf-8", b"caches not synced\n")),
        }
        #: POST routes by path prefix (e.g. "/sensors/"); the handler gets the rest of the path.
        self.post_routes: dict[str, PostRoute] = {}
        self._httpd = _Server((host, port), _handler(self.routes, self.post_routes))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def start(self) -> None:
        self._thread.start()
        log.info("Serving /metrics, /healthz and /readyz on port %d", self.port)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler(routes: dict[str, Route], post_routes: dict[str, PostRoute]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a source posting 50 events/s reuses its connection

        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            route = routes.get(self.path.split("?", 1)[0])
            self._answer(*(route() if route else (404, "text/plain; charset=utf-8", b"not found\n")))

        def do_POST(self) -> None:  # noqa: N802
            path = self.path.split("?", 1)[0]
            prefix = next((p for p in post_routes if path.startswith(p)), None)
            length = int(self.headers.get("Content-Length") or 0)
            if prefix is None or length > MAX_BODY_BYTES:
                self.close_connection = True  # the body stays unread
                code = 404 if prefix is None else 413
                self._answer(code, "application/json", b'{"error":"%s"}\n' % (
                    b"not found" if code == 404 else b"body too large"))
                return
            body = self.rfile.read(length)
            self._answer(*post_routes[prefix](path[len(prefix):], self.headers, body))

        def _answer(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # scrapes and probes are not news
            pass

    return Handler
