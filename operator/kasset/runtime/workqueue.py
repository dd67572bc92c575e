"""A work queue with client-go's semantics (`k8s.io/client-go/util/workqueue`), for worker threads.

- A key added while it waits is queued once; a key added while it is being processed is processed again
  after `done()`, never by two workers at once.
- `add_after(key, delay)`: one pending timer per key; a later request never multiplies timers, an earlier one
  moves the timer forward.
- `add_rate_limited(key)`: requeue after a per-key exponential backoff (base × 2^failures, capped);
  `forget(key)` resets it after a success.
- `shutdown()` wakes every waiting worker; `get()` then returns None.

Does not: know what a key means or run anything (see `kasset.runtime.controller`).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Hashable


class WorkQueue:
    def __init__(self, *, base_delay: float = 0.05, max_delay: float = 60.0, clock=time.monotonic):
        self._clock = clock
        self._base, self._max = base_delay, max_delay
        self._cond = threading.Condition()
        self._queue: deque[Hashable] = deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._failures: dict[Hashable, int] = {}
        self._timers: list[tuple[float, int, Hashable]] = []
        self._due: dict[Hashable, float] = {}
        self._seq = itertools.count()
        self._added_at: dict[Hashable, float] = {}
        self._shutting_down = False

    # -- adding -----------------------------------------------------------------------------------------

    def add(self, key: Hashable) -> None:
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key: Hashable) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        self._added_at.setdefault(key, self._clock())
        if key not in self._processing:
            self._queue.append(key)
            self._cond.notify()

    def add_after(self, key: Hashable, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            due = self._clock() + delay
            if self._shutting_down or self._due.get(key, float("inf")) <= due:
                return
            self._due[key] = due
            heapq.heappush(self._timers, (due, next(self._seq), key))
            self._cond.notify()

    def add_rate_limited(self, key: Hashable) -> float:
        """Requeue `key` after its backoff; returns the delay chosen."""
        with self._cond:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
        delay = min(self._max, self._base * (2 ** failures))
        self.add_after(key, delay)
        return delay

    def forget(self, key: Hashable) -> None:
        with self._cond:
            self._failures.pop(key, None)

    # -- taking -----------------------------------------------------------------------------------------

    def get(self) -> tuple[Hashable, float] | None:
        """Block until a key is ready; return it with the seconds it waited, or None after shutdown."""
        with self._cond:
            while True:
                self._release_due_timers()
                if self._queue:
                    key = self._queue.popleft()
                    self._processing.add(key)
                    self._dirty.discard(key)
                    waited = self._clock() - self._added_at.pop(key, self._clock())
                    return key, waited
                if self._shutting_down:
                    return None
                timeout = self._timers[0][0] - self._clock() if self._timers else None
                self._cond.wait(timeout if timeout is None or timeout > 0 else 0)

    def done(self, key: Hashable) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify()

    def _release_due_timers(self) -> None:
        now = self._clock()
        while self._timers and self._timers[0][0] <= now:
            due, _, key = heapq.heappop(self._timers)
            if self._due.get(key) == due:
                del self._due[key]
                self._add_locked(key)

    # -- state ------------------------------------------------------------------------------------------

    def is_pending(self, key: Hashable) -> bool:
        """True while `key` waits to be processed (queued, or re-added during its processing)."""
        with self._cond:
            return key in self._dirty

    def queued(self) -> list[Hashable]:
        """The keys waiting for a worker now (not those waiting on a timer): the metrics' queue depth."""
        with self._cond:
            return list(self._queue)

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def shutdown(self) -> None:
        with self._cond:
            self._shutting_down = True
            self._cond.notify_all()
