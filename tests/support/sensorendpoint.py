"""A real HTTP server playing a container Sensor's endpoint, for the SQS source's tests (unit and integration).

`serve_sensor()` starts it on 127.0.0.1 and returns (Sensor, stop): 403 for a wrong token, 503 for the first
`unavailable` calls, then 201 for a new event id and 200 duplicate for a known one, like the operator's webhook.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "t0ken"


class JSONHandler(BaseHTTPRequestHandler):
    state: object = None

    def read_json(self) -> object:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")

    def answer(self, status: int, body: dict, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@dataclass
class Sensor:
    """The operator's endpoint: 403 for a wrong token, 503 for the first `unavailable` calls, then 201 for a new
    event id and 200 duplicate for a known one. `hold` seconds before answering (`posted` is set on arrival)."""

    seen: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[dict, object]] = field(default_factory=list)
    unavailable: int = 0
    hold: float = 0.0
    posted: threading.Event = field(default_factory=threading.Event)


class SensorHandler(JSONHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        s: Sensor = self.state
        body = self.read_json()
        s.calls.append((dict(self.headers), body))
        s.posted.set()
        time.sleep(s.hold)
        event_id = self.headers["X-Event-Id"]
        if self.headers["Authorization"] != f"Bearer {TOKEN}":
            return self.answer(403, {"error": "the bearer token does not match spec.container.tokenSecretRef"})
        if s.unavailable > 0:
            s.unavailable -= 1
            return self.answer(503, {"error": "the operator is starting"})
        if event_id in s.seen:
            return self.answer(200, {"run": s.seen[event_id], "runKey": f"sensor/u/{event_id}", "duplicate": True})
        s.seen[event_id] = f"orders-{len(s.seen)}"
        return self.answer(201, {"run": s.seen[event_id], "runKey": f"sensor/u/{event_id}"})



def serve(handler: type[JSONHandler], state) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Bound", (handler,), {"state": state}))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def serve_sensor() -> tuple[Sensor, Callable[[], None]]:
    """A running endpoint (its URL in `.url`) and the function that stops it."""
    state = Sensor()
    server, url = serve(SensorHandler, state)
    state.url = f"{url}/sensors/team/orders"

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return state, stop
