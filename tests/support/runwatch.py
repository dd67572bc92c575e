"""Follow the Runs of a namespace with a watch (in a background thread) and tally, event by event, how many are
unfinished at once: the only way to see "never more than N" without sampling between events.

Events of one watch arrive in resourceVersion order, the API server's own order of writes; a Run counts as
unfinished from the event that shows it until the event that shows its Succeeded condition True or False (or
its deletion). An expired watch (410) lists again.

Does not: create anything, or know what a Backfill is beyond its label.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from kubernetes import client, watch

from support.clusterinfo import ClusterInfo

GROUP, VERSION = "kasset.dev", "v1alpha1"


def run_finished(run: dict) -> bool:
    return any(c.get("type") == "Succeeded" and c.get("status") in ("True", "False")
               for c in (run.get("status") or {}).get("conditions") or [])


class RunTally:
    """Runs seen (`names`), their objects, the peak of unfinished ones, and when each was first seen and first
    seen finished (monotonic seconds)."""

    def __init__(self, cluster: ClusterInfo, namespace: str, *, label_selector: str | None = None):
        self.custom = client.CustomObjectsApi(cluster.api)
        self.namespace, self.label_selector = namespace, label_selector
        self.objects: dict[str, dict] = {}
        self.unfinished: set[str] = set()
        self.deleted: set[str] = set()
        self.peak = 0
        self.modifications = 0  # MODIFIED events: every write to a Run (spec, metadata or status)
        self.first_seen: dict[str, float] = {}
        self.finished_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="run-tally", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> RunTally:
        self._version = self._list()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if self.error is not None and exc[0] is None:
            raise self.error

    @property
    def names(self) -> set[str]:
        with self._lock:
            return set(self.objects) | self.deleted

    def _query(self) -> dict[str, Any]:
        return {"label_selector": self.label_selector} if self.label_selector else {}

    def _list(self) -> str:
        listing = self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, "runs", **self._query())
        for obj in listing["items"]:
            self._see("ADDED", obj)
        return listing["metadata"]["resourceVersion"]

    def _see(self, kind: str, obj: dict) -> None:
        name, now = obj["metadata"]["name"], time.monotonic()
        with self._lock:
            self.first_seen.setdefault(name, now)
            if kind == "DELETED":
                self.deleted.add(name)
                self.objects.pop(name, None)
                self.unfinished.discard(name)
                return
            self.objects[name] = obj
            self.modifications += kind == "MODIFIED"
            if run_finished(obj):
                self.unfinished.discard(name)
                self.finished_at.setdefault(name, now)
            else:
                self.unfinished.add(name)
            self.peak = max(self.peak, len(self.unfinished))

    def _follow(self) -> None:
        try:
            while not self._stop.is_set():
                w = watch.Watch()
                try:
                    for event in w.stream(self.custom.list_namespaced_custom_object, GROUP, VERSION,
                                          self.namespace, "runs", resource_version=self._version, timeout_seconds=5,
                                          allow_watch_bookmarks=True, **self._query()):
                        obj = event["object"]
                        self._version = obj["metadata"].get("resourceVersion", self._version)
                        if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                            self._see(event["type"], obj)
                        if self._stop.is_set():
                            w.stop()
                except client.ApiException as exc:
                    if exc.status != 410:
                        raise
                    self._version = self._list()
        except BaseException as exc:  # surfaced by __exit__
            self.error = exc
