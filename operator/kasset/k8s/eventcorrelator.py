"""Which Events to write, with client-go's EventCorrelator semantics (`tools/record/events_cache.go`).

- **Spam filter**: each (object, type, reason) has a token bucket of `SPAM_BURST` Events, refilled by one every
  `SPAM_REFILL_SECONDS` (client-go: 25, one per 5 minutes). Beyond it Events are dropped: a caller hammering a
  Sensor with wrong tokens costs no API writes, and one noisy object cannot fill the queue for the others.
- **Aggregation**: an Event identical to one written within `AGGREGATE_SECONDS` (same object, type, reason and
  message) is not created again; the existing one's `count` and `lastTimestamp` are patched.
Both tables are bounded LRUs (`MAX_KEYS`), so the memory they take does not grow with what callers send.

Does not: write anything (`kasset.k8s.events.EventWriter` does) or build Events (`Kube.emit_event`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

SPAM_BURST = 25
SPAM_REFILL_SECONDS = 300.0
AGGREGATE_SECONDS = 600.0
MAX_KEYS = 4096


@dataclass
class Written:
    """An Event as written: its name, namespace, count so far and when (monotonic seconds) it was first written."""

    name: str
    namespace: str
    count: int
    at: float


def spam_key(event: dict) -> tuple:
    involved = event["involvedObject"]
    return (involved.get("kind"), involved.get("namespace"), involved.get("name"), involved.get("uid"),
            event.get("type"), event.get("reason"))


def aggregate_key(event: dict) -> tuple:
    return (*spam_key(event), event.get("message"))


class _Lru(OrderedDict):
    def remember(self, key: tuple, value: object) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > MAX_KEYS:
            self.popitem(last=False)


class SpamFilter:
    """Token buckets per (object, type, reason). Not thread-safe: the caller holds a lock."""

    def __init__(self) -> None:
        self._buckets: _Lru = _Lru()  # key -> (tokens, last refill time)

    def allow(self, event: dict, *, now: float) -> bool:
        key = spam_key(event)
        tokens, since = self._buckets.get(key, (float(SPAM_BURST), now))
        tokens = min(float(SPAM_BURST), tokens + (now - since) / SPAM_REFILL_SECONDS)
        allowed = tokens >= 1.0
        self._buckets.remember(key, (tokens - 1.0 if allowed else tokens, now))
        return allowed


class Aggregator:
    """The Events written lately, by identity: whether the next one is new or a repeat to count."""

    def __init__(self) -> None:
        self._written: _Lru = _Lru()

    def repeat_of(self, event: dict, *, now: float) -> Written | None:
        """The recent identical Event this one repeats (its count already raised), or None: create it."""
        found = self._written.get(aggregate_key(event))
        if found is None or now - found.at > AGGREGATE_SECONDS:
            return None
        found.count += 1
        return found

    def record(self, event: dict, created: dict, *, now: float) -> None:
        meta = created.get("metadata") or {}
        if meta.get("name"):
            self._written.remember(aggregate_key(event), Written(meta["name"], meta.get("namespace", ""), 1, now))

    def forget(self, event: dict) -> None:
        """The Event is gone (its patch found nothing): the next repeat creates a new one."""
        self._written.pop(aggregate_key(event), None)
