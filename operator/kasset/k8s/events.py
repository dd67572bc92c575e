"""core/v1 Events written off the caller's thread, as client-go's EventBroadcaster writes them.

An Event is what `kubectl describe` tells, never what a decision reads, so no reconcile and no webhook answer
waits for its write (~70 ms while the API server is busy). `EventWriter.emit` queues and returns at once; one
thread creates the Events in order. A full queue drops the Event (logged, counted in `dropped`) rather than
blocking the caller, as client-go's does. `close(timeout)` writes what is queued, then stops.

As client-go's EventCorrelator (`kasset.k8s.eventcorrelator`): `emit` drops an object's Events beyond its spam
budget (counted in `filtered`), and the writer patches the count of a recent identical Event instead of creating
another. The thread survives any error of a write: it logs it and goes on.

Does not: build Events (`Kube.emit_event` does) or decide which ones to write (the planners do).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from kasset.k8s.eventcorrelator import Aggregator, SpamFilter

log = logging.getLogger("kasset.k8s")
#: Events waiting to be written; more are dropped (client-go keeps 1,000 too).
CAPACITY = 1000
_CLOSE = object()


#: (namespace, name, patch) -> the patched Event, or None when it is gone.
Patch = Callable[[str, str, dict], "dict | None"]


class EventWriter:
    def __init__(self, write: Callable[[dict], dict | None], *, patch: Patch | None = None,
                 capacity: int = CAPACITY, clock: Callable[[], float] = time.monotonic):
        self._write, self._patch, self._clock = write, patch, clock
        self._queue: queue.Queue = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._run, name="events", daemon=True)
        self._dropped_lock = threading.Lock()
        self._spam = SpamFilter()
        self._aggregator = Aggregator()
        self.dropped = 0
        self.filtered = 0

    def start(self) -> None:
        self._thread.start()

    def emit(self, event: dict) -> None:
        """Queue `event` (a core/v1 Event body) for writing; never blocks."""
        with self._dropped_lock:
            if not self._spam.allow(event, now=self._clock()):
                self.filtered += 1
                return
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
            try:
                self._write_or_count(event)
            except Exception:  # noqa: BLE001 (a daemon thread that dies silently writes no Event again)
                log.exception("Writing Event %s failed", event.get("reason"))

    def _write_or_count(self, event: dict) -> None:
        now = self._clock()
        repeat = self._aggregator.repeat_of(event, now=now) if self._patch is not None else None
        if repeat is not None:
            patch = {"count": repeat.count, "lastTimestamp": event["lastTimestamp"]}
            if self._patch(repeat.namespace, repeat.name, patch) is not None:
                return
            self._aggregator.forget(event)
        created = self._write(event)  # best effort: `write` logs its own failures
        if created is not None:
            self._aggregator.record(event, created, now=now)
