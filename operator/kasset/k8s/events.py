"""core/v1 Events written off the caller's thread, as client-go's EventBroadcaster writes them.

An Event is what `kubectl describe` tells, never what a decision reads, so no reconcile and no webhook answer
waits for its write (~70 ms while the API server is busy). `EventWriter.emit` queues and returns at once; one
thread creates the Events in order. A full queue drops the Event (logged, counted in `dropped`) rather than
blocking the caller, as client-go's does. `close(timeout)` writes what is queued, then stops.

Does not: build Events (`Kube.emit_event` does) or decide which ones to write (the planners do).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger("kasset.k8s")
#: Events waiting to be written; more are dropped (client-go keeps 1,000 too).
CAPACITY = 1000
_CLOSE = object()


class EventWriter:
    def __init__(self, write: Callable[[dict], None], *, capacity: int = CAPACITY):
        self._write = write
        self._queue: queue.Queue = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._run, name="events", daemon=True)
        self._dropped_lock = threading.Lock()
        self.dropped = 0

    def start(self) -> None:
        self._thread.start()

    def emit(self, event: dict) -> None:
        """Queue `event` (a core/v1 Event body) for writing; never blocks."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            with self._dropped_lock:  # emitted from every worker and webhook thread
                self.dropped += 1
                dropped = self.dropped
            if dropped == 1 or dropped % 100 == 0:
                log.warning("Event queue full (%d waiting): dropped %d Events so far, the latest %s on %s/%s",
                            self._queue.maxsize, dropped, event["reason"], event["involvedObject"]["kind"],
                            event["involvedObject"]["name"])

    def close(self, timeout: float = 5.0) -> None:
        """Write the queued Events (for at most `timeout` seconds), then stop the thread."""
        if not self._thread.is_alive():
            return
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(_CLOSE, timeout=timeout)
        except queue.Full:
            log.warning("Event queue still full at stop: the queued Events are not written")
            return
        self._thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while (event := self._queue.get()) is not _CLOSE:
            self._write(event)  # best effort: `write` logs its own failures
