"""An open-loop load of webhook events: POSTs to a Sensor's endpoint at a fixed rate, whatever the answers.

`post_at_rate(...)` sends `count` events at `rate` per second: event i is due at `start + i / rate`, and the next
free one of `workers` threads sleeps until that time and sends it, so slow answers delay the schedule only once
every thread waits on one (with 128 threads at 50/s: answers slower than 2.5 s; `Delivery.late` says by how
much). Each event has its own `X-Event-Id`. A thread keeps one HTTP/1.1 connection open (keep-alive) or opens one
per request (`keep_alive=False`, with `Connection: close`). A non-2xx answer or a connection error is retried
(bounded, with a growing pause; after a connection error on a new connection), as a source retries; every answer
and error is kept on its `Delivery`.

Does not: watch Runs or compute latencies (the bench does, from `Delivery.sent`).
"""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time
from dataclasses import dataclass, field

#: Attempts per event, and the pause before each retry (seconds, doubling up to `MAX_PAUSE`).
ATTEMPTS, FIRST_PAUSE, MAX_PAUSE = 20, 0.05, 1.0
TIMEOUT_SECONDS = 30.0


@dataclass
class Delivery:
    """One event: when it was due, first sent and accepted (monotonic seconds), and every answer (None: no
    answer)."""

    event_id: str
    due: float
    sent: float | None = None
    accepted_at: float | None = None
    answers: list[int | None] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    run: str | None = None

    @property
    def accepted(self) -> bool:
        return bool(self.answers) and self.answers[-1] is not None and self.answers[-1] < 300

    @property
    def late(self) -> float:
        return 0.0 if self.sent is None else max(0.0, self.sent - self.due)


@dataclass(frozen=True)
class Target:
    """Where and how to POST: the operator's port, the Sensor's path, its token, the connection mode."""

    port: int
    path: str
    token: str
    keep_alive: bool = True


def post_at_rate(target: Target, *, count: int, rate: float, workers: int = 128, id_prefix: str = "event",
                 lead_seconds: float = 0.5) -> list[Delivery]:
    """Send `count` events at `rate` per second from `workers` threads; return their deliveries in order."""
    start = time.monotonic() + lead_seconds
    deliveries = [Delivery(event_id=f"{id_prefix}-{i:05d}", due=start + i / rate) for i in range(count)]
    due: queue.SimpleQueue[Delivery] = queue.SimpleQueue()
    for delivery in deliveries:
        due.put(delivery)
    threads = [threading.Thread(target=_work, args=(target, due), name=f"webhook-load-{i}", daemon=True)
               for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return deliveries


def achieved_rate(deliveries: list[Delivery]) -> float:
    """First attempts per second, from the first send to the last."""
    sent = sorted(d.sent for d in deliveries if d.sent is not None)
    return (len(sent) - 1) / (sent[-1] - sent[0]) if len(sent) > 1 and sent[-1] > sent[0] else 0.0


def count_answers(deliveries: list[Delivery]) -> dict[str, int]:
    """Answers by class: `2xx`, `non-2xx` (an HTTP status of 300 or more) and `no answer` (connection errors)."""
    answers = [a for d in deliveries for a in d.answers]
    return {"2xx": sum(a is not None and a < 300 for a in answers),
            "non-2xx": sum(a is not None and a >= 300 for a in answers),
            "no answer": sum(a is None for a in answers)}


def _work(target: Target, due: queue.SimpleQueue[Delivery]) -> None:
    connection = None
    try:
        while True:
            try:
                delivery = due.get_nowait()
            except queue.Empty:
                return
            time.sleep(max(0.0, delivery.due - time.monotonic()))
            connection = _deliver(target, delivery, connection)
    finally:
        if connection is not None:
            connection.close()


def _deliver(target: Target, delivery: Delivery,
             connection: http.client.HTTPConnection | None) -> http.client.HTTPConnection | None:
    """POST until a 2xx answer or the attempts are spent; return the connection to reuse, if any."""
    body = json.dumps({"id": delivery.event_id}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {target.token}",
               "X-Event-Id": delivery.event_id}
    if not target.keep_alive:
        headers["Connection"] = "close"
    pause = FIRST_PAUSE
    for _attempt in range(ATTEMPTS):
        connection = connection or http.client.HTTPConnection("127.0.0.1", target.port, timeout=TIMEOUT_SECONDS)
        if delivery.sent is None:
            delivery.sent = time.monotonic()
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            status, raw = response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, closed by the server
            delivery.answers.append(None)
            delivery.errors.append(f"{type(exc).__name__}: {exc}")
            connection.close()
            connection = None
        else:
            delivery.answers.append(status)
            if response.will_close or not target.keep_alive:
                connection.close()
                connection = None
            if status < 300:
                delivery.accepted_at, delivery.run = time.monotonic(), json.loads(raw).get("run")
                return connection
            delivery.errors.append(f"HTTP {status}: {raw[:200].decode(errors='replace').strip()}")
        time.sleep(pause)
        pause = min(MAX_PAUSE, pause * 2)
    return connection
