"""List, then watch, one resource, and hand every change to a callback: the informer half of client-go's
informer/lister pair (the store and its indexes are the caller's, see `kasset.runtime.cache`).

The list is paginated; the watch resumes from the last resourceVersion seen (bookmarks keep it fresh), after a
broken stream or an API error too, as client-go's reflector does; the informer lists again only when the server
answers 410 Gone, reporting objects that vanished meanwhile as DELETED. A stream silent for `IDLE_SECONDS`
(the API server sends a bookmark about every minute) is taken for half-open and watched again. An exception of
the callback for one object is logged and skipped: one object never makes the informer relist or stall.
`synced` is set once the first list was handed over: "ready" means every informer is synced and watching.
`stop()` shuts the open stream's socket down, so a stop takes effect at once, not after the watch's timeout.

Does not: parse objects, keep them, or decide what to reconcile.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from kubernetes import client
from kubernetes.watch.watch import iter_resp_lines

from kasset.k8s.errors import ApiError, Gone, from_api_exception

log = logging.getLogger("kasset.informer")
PAGE_SIZE = 500
WATCH_SECONDS = 300
#: Seconds without a byte on a watch (no event, no bookmark) after which the stream counts as dead.
IDLE_SECONDS = 90
RETRY_SECONDS = (0.5, 1, 2, 4, 8)

#: (event type, object): ADDED, MODIFIED or DELETED, and the object as the API server sent it.
EventHandler = Callable[[str, dict], None]


@dataclass(frozen=True)
class Resource:
    """A listable resource: the API group ('' for core), version and plural."""

    group: str
    version: str
    plural: str

    def lister(self, api: client.ApiClient, namespace: str | None) -> Callable[..., Any]:
        """The generated client's list function for this resource (namespaced, or across namespaces)."""
        if (self.group, self.version, self.plural) == ("batch", "v1", "jobs"):
            batch = client.BatchV1Api(api)
            return partial(batch.list_namespaced_job, namespace) if namespace else batch.list_job_for_all_namespaces
        custom = client.CustomObjectsApi(api)
        if namespace:
            return partial(custom.list_namespaced_custom_object, self.group, self.version, namespace, self.plural)
        return partial(custom.list_cluster_custom_object, self.group, self.version, self.plural)


class Informer:
    def __init__(self, api: client.ApiClient, resource: Resource, on_event: EventHandler, *,
                 namespace: str | None = None, label_selector: str | None = None,
                 on_request: Callable[[str, int | str], None] | None = None):
        self.api = api
        self.on_request = on_request or (lambda verb, code: None)  # (verb, HTTP status or "error"): metrics
        self.resource = resource
        self.on_event = on_event
        self.namespace = namespace
        self.label_selector = label_selector
        self.synced = threading.Event()
        self._stop = threading.Event()
        self._response: Any = None
        self._known: dict[tuple[str, str], dict] = {}  # the last object seen per key, to report vanished ones
        self._version: str | None = None  # the last resourceVersion seen: where a broken watch resumes
        self._lister = resource.lister(api, namespace)
        self._thread = threading.Thread(target=self._run, name=f"informer-{resource.plural}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            try:  # wakes the reading thread at once; close() would wait for the lock that thread holds
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed
                pass

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    # -- the loop ---------------------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        version: str | None = None
        while not self._stop.is_set():
            try:
                if version is None:
                    version = self._list()
                    self.synced.set()
                if self._stop.is_set():  # stopped while listing: no watch to open
                    return
                version = self._watch(version)
                failures = 0
            except Gone:
                log.info("Watch of %s expired; listing again", self.resource.plural)
                version = None
            except Exception as exc:  # the API server restarted, a timeout, a broken stream: watch again soon
                if self._stop.is_set():
                    return
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                if getattr(exc, "status", None) == 404:
                    exc = f"the API server does not serve {self.resource.plural}.{self.resource.group}: is its " \
                          "CRD installed? (`kasset run` installs Kasset's; or `kubectl apply -f crds/`)"
                log.warning("Watch of %s failed (%s); retrying in %ss", self.resource.plural, exc, delay)
                version = self._version if version is not None else None  # resume where the stream broke
                self._stop.wait(delay)

    def _deliver(self, kind: str, obj: dict) -> None:
        """Hand one event to the callback; its failure is that object's, not the watch's."""
        try:
            self.on_event(kind, obj)
        except Exception:  # noqa: BLE001
            meta = obj.get("metadata") or {}
            log.exception("Handling %s %s/%s/%s failed; skipped", kind, self.resource.plural, meta.get("namespace"),
                          meta.get("name"))

    def _request(self, query: dict[str, Any], *, timeout: Any) -> Any:
        if self.label_selector:
            query["label_selector"] = self.label_selector
        verb = "watch" if query.get("watch") else "list"
        try:
            response = self._lister(_preload_content=False, _request_timeout=timeout, **query)
        except client.ApiException as exc:
            self.on_request(verb, exc.status or "error")
            raise from_api_exception(exc, what=f"list {self.resource.plural}") from None
        except Exception:
            self.on_request(verb, "error")
            raise
        status = getattr(response, "status", 200)
        self.on_request(verb, status)
        if not 200 <= status <= 299:
            message = (response.data or b"")[:500].decode(errors="replace")
            raise (Gone if status == 410 else ApiError)(f"list {self.resource.plural}: {status} {message}",
                                                        status=status)
        return response

    def _list(self) -> str:
        seen: dict[tuple[str, str], dict] = {}
        query: dict[str, Any] = {"limit": PAGE_SIZE}
        while True:
            response = self._request(dict(query), timeout=(5, 60))
            page = json.loads(response.data)
            for obj in page.get("items") or []:
                meta = obj["metadata"]
                seen[(meta.get("namespace", ""), meta["name"])] = obj
                self._deliver("ADDED", obj)
            token = page["metadata"].get("continue")
            if not token:
                break
            query["_continue"] = token
        for key, obj in self._known.items():
            if key not in seen:
                self._deliver("DELETED", obj)
        self._known = {key: _tombstone(obj) for key, obj in seen.items()}
        self._version = page["metadata"]["resourceVersion"]
        return self._version

    def _watch(self, version: str) -> str:
        query = {"watch": True, "resource_version": version, "allow_watch_bookmarks": True,
                 "timeout_seconds": WATCH_SECONDS}
        self._response = response = self._request(query, timeout=(5, IDLE_SECONDS))
        if self._stop.is_set():  # stopped while the watch was being opened: stop() found no stream to shut
            response.release_conn()
            return version
        try:
            for line in iter_resp_lines(response):
                if self._stop.is_set():
                    break
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise Gone(obj.get("message", "resourceVersion too old"), status=410)
                    raise ApiError(f"watch {self.resource.plural}: {obj.get('message')}", status=obj.get("code"))
                version = self._version = obj.get("metadata", {}).get("resourceVersion", version)
                if kind == "BOOKMARK":
                    continue
                meta = obj["metadata"]
                key = (meta.get("namespace", ""), meta["name"])
                if kind == "DELETED":
                    self._known.pop(key, None)
                else:
                    self._known[key] = _tombstone(obj)
                self._deliver(kind, obj)
        finally:
            self._response = None
            response.release_conn()
        return version


def _tombstone(obj: dict) -> dict:
    """What a DELETED event after a relist needs: kind and identity."""
    meta = obj["metadata"]
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
            "metadata": {key: meta[key] for key in ("name", "namespace", "uid", "ownerReferences") if key in meta}}
