"""The operator's HTTP ports, served by waitress: a bounded, well-kept WSGI server.

Two ports, as controller-runtime keeps its metrics and health probes apart from its webhooks:
- the **probe port** (`metrics_port`): `/metrics` (Prometheus text format), `/healthz` (the process serves),
  `/readyz` (200 only while the caches are synced and the watches run; a leader-election standby is ready too);
- the **webhook port** (`webhook_port`): `POST /sensors/<namespace>/<name>`, the Sensors' webhooks (served by
  every replica: a Run's name derives from its event, so two replicas answering one event create one Run).
Whatever a caller of the webhook port does, it cannot starve the probes: they have their own sockets and threads.

Why waitress: its event loop reads every request whole (headers and body, each bounded) before a worker thread
sees it, so a slow or half-sent request holds a socket, never a thread; it refuses a negative, non-numeric or
oversized Content-Length (400, 413) before any route runs; and it bounds connections, threads and idle time.
On top of it this module closes a connection whose request is not read whole within `read_timeout_seconds`
(nginx's `client_header_timeout`/`client_body_timeout`): waitress alone lets a client that trickles one byte
at a time keep its connection for ever (slowloris).

Does not: define metrics (`kasset.metrics`), decide readiness (the controller sets the event it reads) or know
what a webhook means (`kasset.reconcilers.webhook`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

log = logging.getLogger("kasset.server")
#: () -> (status, content type, body)
Route = Callable[[], tuple[int, str, bytes]]
#: (path under the prefix, headers, body) -> (status, content type, body)
PostRoute = Callable[[str, Mapping[str, str], bytes], tuple[int, str, bytes]]
TEXT = "text/plain; charset=utf-8"
_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large", 422: "Unprocessable Entity",
            503: "Service Unavailable"}


@dataclass(frozen=True)
class Limits:
    """What one port gives its callers at most."""

    #: Worker threads answering complete requests (a request waits for one in the event loop, not in a thread).
    threads: int = 8
    #: Open connections; beyond it the port stops accepting until some close.
    connections: int = 256
    #: Largest request body (Content-Length or chunked); larger ones get 413 unread.
    max_body_bytes: int = 1024 * 1024
    #: Largest request line plus headers; larger ones get 431/400.
    max_header_bytes: int = 16 * 1024
    #: Seconds a request may take to arrive whole, from its first byte: slow clients are cut off.
    read_timeout_seconds: float = 10.0
    #: Seconds an idle keep-alive connection stays open.
    idle_timeout_seconds: int = 60


class _Channel(HTTPChannel):
    """waitress's connection, remembering when the request it is reading began (None: between requests)."""

    read_since: float | None = None

    def received(self, data: bytes) -> bool:
        before = self.request
        result = super().received(data)
        if self.request is None:
            self.read_since = None
        elif self.request is not before:
            self.read_since = time.time()
        return result


class _Server(TcpWSGIServer):
    channel_class = _Channel
    read_timeout_seconds = Limits.read_timeout_seconds

    def maintenance(self, now: float) -> None:
        """waitress closes idle connections; this also closes those whose request is overdue."""
        super().maintenance(now)
        cutoff = now - self.read_timeout_seconds
        for channel in list(self.active_channels.values()):
            if channel.read_since is not None and channel.read_since < cutoff and not channel.requests:
                channel.will_close = True


class HttpServer:
    """One port: GET routes by exact path, POST routes by path prefix, served in a thread of its own."""

    def __init__(self, *, name: str, port: int, host: str = "0.0.0.0", limits: Limits = Limits(),
                 routes: Mapping[str, Route] | None = None, post_routes: Mapping[str, PostRoute] | None = None):
        self.name = name
        self.routes, self.post_routes = dict(routes or {}), dict(post_routes or {})
        adj = Adjustments(host=host, port=port, threads=limits.threads, connection_limit=limits.connections,
                          max_request_body_size=limits.max_body_bytes,
                          max_request_header_size=limits.max_header_bytes,
                          channel_timeout=limits.idle_timeout_seconds, cleanup_interval=1, backlog=128,
                          asyncore_use_poll=True, ident="kasset", expose_tracebacks=False,
                          clear_untrusted_proxy_headers=False)
        self._server = _Server(self._app, map={}, adj=adj)
        self._server.read_timeout_seconds = limits.read_timeout_seconds
        self._thread = threading.Thread(target=self._server.run, name=f"http-{name}", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> None:
        self._thread.start()
        log.info("Serving %s on port %d", ", ".join([*self.routes, *(f"POST {p}*" for p in self.post_routes)]),
                 self.port)

    def stop(self) -> None:
        """Close the listening socket and every connection (in the loop's own thread), then stop the workers."""
        sockets = self._server._map
        if self._thread.is_alive():
            self._server.trigger.pull_trigger(lambda: wasyncore.close_all(sockets))
            self._thread.join(2)
        else:
            wasyncore.close_all(sockets)
        self._server.task_dispatcher.shutdown(timeout=2)

    # -- WSGI --------------------------------------------------------------------------------------------

    def _app(self, environ: dict, start_response: Callable) -> Iterator[bytes]:
        status, content_type, body = self._answer(environ)
        start_response(f"{status} {_REASONS.get(status, 'Error')}",
                       [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return iter([body])

    def _answer(self, environ: dict) -> tuple[int, str, bytes]:
        path, method = environ.get("PATH_INFO") or "/", environ["REQUEST_METHOD"]
        if method in ("GET", "HEAD") and path in self.routes:
            return self.routes[path]()
        prefix = next((p for p in self.post_routes if path.startswith(p)), None)
        if prefix is None:
            return 404, TEXT, b"not found\n"
        if method != "POST":
            return 405, TEXT, b"POST only\n"
        body = environ["wsgi.input"].read()  # waitress has read it whole, within max_body_bytes
        return self.post_routes[prefix](path[len(prefix):], Headers(environ), body)


class Headers(Mapping[str, str]):
    """A request's headers, by case-insensitive name, from a WSGI environ."""

    def __init__(self, environ: Mapping[str, object]):
        self._values = {key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items()
                        if key.startswith("HTTP_")}
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                self._values[key.replace("_", "-").lower()] = str(environ[key])

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def probe_routes(*, registry: CollectorRegistry, ready: threading.Event) -> dict[str, Route]:
    """The probe port's routes: /metrics, /healthz, /readyz."""
    return {
        "/metrics": lambda: (200, CONTENT_TYPE_LATEST, generate_latest(registry)),
        "/healthz": lambda: (200, TEXT, b"ok\n"),
        "/readyz": lambda: (200, TEXT, b"ready\n") if ready.is_set() else (503, TEXT, b"caches not synced\n"),
    }
