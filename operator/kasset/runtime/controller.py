"""The controller: informers feed the cache, each change enqueues the keys it affects, and a bounded pool of
worker threads reconciles them one key at a time.

    informers (assets, jobs, runs, backfills, schedules, sensors,
               step Jobs, slices) ──> cache ──> queue ──> workers ──> reconcilers
                                        ^                                  │
                                        └──── writes (through the API) ────┘

With leader election, every replica runs its informers (a warm standby whose queue fills, deduplicated, while
it waits) and only the Lease holder starts the workers; metrics and the /healthz and /readyz endpoints are
served from the start.

`start()` returns once every informer has listed its resource and is watching ("ready" means exactly that);
`stop()` shuts the queue, closes the watches and joins the workers, within seconds. A slow safety-net timer
re-enqueues unfinished Runs and Backfills (and gone Backfills with unstarted Runs), so a missed event costs a
delay, never a Run. A Schedule asks to be reconciled again at its next tick (the queue's delayed add).

Does not: know kopf (the handlers module hosts it) or decide anything.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import socket
import threading
import time

from kasset.api.base import GROUP, VERSION
from kasset.api.contract import COMPONENT_SENSOR_SOURCE, LABEL_COMPONENT, LABEL_MANAGED_BY, MANAGED_BY
from kasset.k8s import ApiError, Informer, Kube, Resource, connect
from kasset.k8s.events import EventWriter
from kasset.k8s.lease import Leases
from kasset.metrics import Metrics
from kasset.planning.backfill import backfill_of
from kasset.planning.run import is_run_finished
from kasset.planning.schedule import schedule_of
from kasset.planning.sensor import sensor_of
from kasset.reconcilers import (
    reconcile_asset,
    reconcile_backfill,
    reconcile_job,
    reconcile_run,
    reconcile_schedule,
    reconcile_sensor,
)
from kasset.reconcilers.runtime import Runtime
from kasset.reconcilers.webhook import Webhooks
from kasset.runtime.cache import Cache, slim, slim_step_job
from kasset.runtime.leader import LeaderElector, Timing
from kasset.runtime.server import HttpServer, Limits, probe_routes
from kasset.runtime.workqueue import WorkQueue
from kasset.settings import Settings

log = logging.getLogger("kasset.controller")
#: The probe port's callers are the kubelet and Prometheus: a few threads and connections are plenty.
PROBE_LIMITS = Limits(threads=4, connections=64)
RECONCILERS = {"Asset": reconcile_asset, "Job": reconcile_job, "Run": reconcile_run, "Backfill": reconcile_backfill,
               "Schedule": reconcile_schedule, "Sensor": reconcile_sensor}


class NamespaceScope:
    """Which namespaces the operator serves: shell-style patterns, none meaning all."""

    def __init__(self, patterns: list[str]):
        self.patterns = list(patterns)

    @property
    def watched(self) -> list[str | None]:
        """What each set of informers watches: every plain name alone (namespaced RBAC allows no more), or the
        whole cluster (None) when the scope is empty or has a pattern, filtered by `allows`."""
        if self.patterns and not any(ch in p for p in self.patterns for ch in "*?["):
            return list(dict.fromkeys(self.patterns))
        return [None]

    def allows(self, namespace: str) -> bool:
        return not self.patterns or any(fnmatch.fnmatchcase(namespace, p) for p in self.patterns)


class Controller:
    def __init__(self, settings: Settings, *, kube: Kube | None = None):
        self.settings = settings
        self.ready = threading.Event()
        self.metrics = Metrics()
        # a connection per worker, the watches, and one per webhook thread (a 50 events/s burst held 33 at once
        # with workers + 8 = 32: urllib3 then closes the extra connections instead of reusing them)
        self.kube = kube or Kube(connect(qps_pool=settings.workers + 8 + settings.webhook_threads),
                                 on_request=self.metrics.observe_request)
        self.events = EventWriter(self.kube.write_event, patch=self.kube.patch_event)
        self.kube.event_sink = self.events.emit  # no reconcile or webhook answer waits for an Event's write
        self.rt = Runtime(kube=self.kube, cache=Cache(), queue=WorkQueue(), settings=settings, metrics=self.metrics)
        self.scope = NamespaceScope(settings.namespaces)
        self.informers = [informer for watch_ns in self.scope.watched for informer in self._informers(watch_ns)]
        self.metrics.watch_cache(assets=self._cached_assets, queued=self.rt.queue.queued)
        self.servers = self._servers(settings)
        self.elector = self._elector() if settings.leader_elect else None
        self._workers = [threading.Thread(target=self._work, name=f"worker-{i}", daemon=True)
                         for i in range(settings.workers)]
        self._stopping = threading.Event()
        self._safety_net = threading.Thread(target=self._resync_unfinished_runs, name="safety-net", daemon=True)

    def _servers(self, settings: Settings) -> list[HttpServer]:
        """The probe port (/metrics, /healthz, /readyz) and the webhook port (POST /sensors/...); 0 turns one off."""
        host, servers = settings.metrics_bind_address, []
        if settings.metrics_port:
            servers.append(HttpServer(name="probes", port=settings.metrics_port, host=host, limits=PROBE_LIMITS,
                                      routes=probe_routes(registry=self.metrics.registry, ready=self.ready)))
        if settings.webhook_port:
            limits = Limits(threads=settings.webhook_threads, connections=settings.webhook_max_connections,
                            read_timeout_seconds=settings.webhook_read_timeout_seconds)
            servers.append(HttpServer(name="webhooks", port=settings.webhook_port, host=host, limits=limits,
                                      post_routes={"/sensors/": Webhooks(self.rt, ready=self.ready).serve}))
        return servers

    def _elector(self) -> LeaderElector:
        """The Lease is the chart's (`<release>-leader` in the pod's namespace); the identity is the pod's name."""
        namespace = self.settings.leader_election_namespace or os.environ.get("POD_NAMESPACE", "default")
        identity = os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"
        timing = Timing(self.settings.leader_lease_seconds, self.settings.leader_renew_deadline_seconds,
                        self.settings.leader_retry_seconds)
        return LeaderElector(Leases(self.kube, timeout=timing.call_timeout_seconds), namespace=namespace,
                             name=self.settings.leader_election_id, identity=identity, on_started=self._lead,
                             on_stopped=self._lost_lead, timing=timing)

    def _informers(self, watch_ns: str | None) -> list[Informer]:
        api, counted = self.kube.api, {"namespace": watch_ns, "on_request": self.metrics.observe_request}
        return [
            Informer(api, Resource(GROUP, VERSION, "assets"), self._on_asset, **counted),
            Informer(api, Resource(GROUP, VERSION, "jobs"), self._on_job, **counted),
            Informer(api, Resource(GROUP, VERSION, "runs"), self._on_run, **counted),
            Informer(api, Resource("batch", "v1", "jobs"), self._on_step_job,
                     label_selector=f"{LABEL_MANAGED_BY}={MANAGED_BY}", **counted),
            Informer(api, Resource(GROUP, VERSION, "partitionslices"), self._on_slice, **counted),
            Informer(api, Resource(GROUP, VERSION, "backfills"), self._on_backfill, **counted),
            Informer(api, Resource(GROUP, VERSION, "schedules"), self._on_schedule, **counted),
            Informer(api, Resource(GROUP, VERSION, "sensors"), self._on_sensor, **counted),
            Informer(api, Resource("apps", "v1", "deployments"), self._on_source,
                     label_selector=f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_COMPONENT}={COMPONENT_SENSOR_SOURCE}",
                     **counted),
        ]

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> None:
        self.events.start()
        for server in self.servers:
            server.start()  # /healthz answers while the caches fill
        for informer in self.informers:
            informer.start()
        deadline = time.monotonic() + self.settings.sync_timeout_seconds
        for informer in self.informers:
            if not informer.synced.wait(max(0.0, deadline - time.monotonic())):
                self.stop()  # frees the ports and the watches: kopf's retry starts a whole new controller
                raise TimeoutError(f"the first list of {informer.resource.plural} did not arrive within "
                                   f"{self.settings.sync_timeout_seconds:g}s")
        self.ready.set()  # a standby is ready too: synced and watching, its queue filling (deduplicated)
        self.metrics.ready.set(1)
        if self.elector is None:
            self._lead()
        else:
            self.elector.start()

    @property
    def role(self) -> str:
        return "leading" if self.elector is None or self.elector.leading.is_set() else "standby, waiting for the Lease"

    def _lead(self) -> None:
        """Reconcile: the keys every event queued while this replica waited are worked off first."""
        for worker in self._workers:
            worker.start()
        self._safety_net.start()
        self.metrics.leader.set(1)

    def _lost_lead(self) -> None:
        """client-go's OnStoppedLeading: never two reconcilers; exit so Kubernetes restarts a clean standby."""
        self.metrics.leader.set(0)
        log.critical("Leadership lost; exiting so that a new standby starts")
        os._exit(1)

    def stop(self, timeout: float = 5.0) -> None:
        self.ready.clear()
        self.metrics.ready.set(0)
        for server in self.servers:
            server.stop()
        self._stopping.set()
        self.rt.queue.shutdown()
        for informer in self.informers:
            informer.stop()
        deadline = time.monotonic() + timeout
        for thread in [*self._workers, *(i._thread for i in self.informers)]:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
        if self.elector is not None:  # after the workers stopped: the standby takes over at its next try
            self.elector.stop(release=True)
        self.metrics.leader.set(0)
        self.events.close(max(1.0, deadline - time.monotonic()))  # what the workers emitted, then stop

    # -- events -> keys ---------------------------------------------------------------------------------

    def _key(self, raw: dict) -> tuple[str, str] | None:
        meta = raw["metadata"]
        namespace = meta.get("namespace", "")
        return (namespace, meta["name"]) if self.scope.allows(namespace) else None

    def _on_asset(self, kind: str, raw: dict) -> None:
        if (key := self._key(raw)) is None:
            return
        namespace, name = key
        ns = self.rt.cache.namespace(namespace)
        if kind == "DELETED":
            ns.delete_asset(name)
        elif not ns.put_asset(raw):
            return
        self.rt.queue.add(("Asset", namespace, name))
        if kind != "MODIFIED":  # dependants' facts may blame its absence (or rely on its presence)
            self.rt.enqueue("Asset", namespace, ns.dependants(name))
        self.rt.enqueue("Backfill", namespace, ns.waiting_backfills())  # e.g. partitions were added
        self.rt.enqueue("Schedule", namespace, ns.waiting_schedules())

    def _on_job(self, kind: str, raw: dict) -> None:
        if (key := self._key(raw)) is None:
            return
        namespace, name = key
        ns = self.rt.cache.namespace(namespace)
        before = ns.jobs.valid.get(name) or ns.jobs.invalid.get(name)
        if kind == "DELETED":
            ns.delete_job(name)
        elif not ns.put_job(raw):
            return
        self.rt.queue.add(("Job", namespace, name))
        generation = raw["metadata"].get("generation")
        if kind != "MODIFIED" or before is None or _generation(before) != generation:
            self.rt.enqueue("Run", namespace, ns.unfinished_runs_of(name))
            self.rt.enqueue("Backfill", namespace, ns.waiting_backfills())
            self.rt.enqueue("Schedule", namespace, ns.waiting_schedules())

    def _on_run(self, kind: str, raw: dict) -> None:
        if (key := self._key(raw)) is None:
            return
        namespace, name = key
        ns = self.rt.cache.namespace(namespace)
        before = ns.runs.valid.get(name)
        if kind == "DELETED":
            ns.delete_run(name)
            job = (raw.get("spec") or {}).get("jobRef", {}).get("name")
            if job:  # a slot under maxConcurrentRuns may have opened
                self.rt.enqueue("Run", namespace, ns.runs_waiting_for_a_slot(job))
            self._wake_creators(namespace, before)
            return
        if ns.put_run(raw):
            self.rt.queue.add(("Run", namespace, name))
            after = ns.runs.valid.get(name)
            if before is None or after is None or is_run_finished(before) != is_run_finished(after):
                self._wake_creators(namespace, after or before)

    def _wake_creators(self, namespace: str, run) -> None:
        """A Run of a Backfill or Schedule appeared, finished or went: a slot may have opened, and the
        Schedule's active Runs and history changed."""
        if run is None:
            return
        if (backfill := backfill_of(run)) is not None:
            self.rt.queue.add(("Backfill", namespace, backfill))
        ns = self.rt.cache.namespace(namespace)
        creators = (("Schedule", schedule_of(run), ns.schedules), ("Sensor", sensor_of(run), ns.sensors))
        for kind, name, cached in creators:
            if name is not None and name in cached.versions:
                self.rt.queue.add((kind, namespace, name))

    def _on_sensor(self, kind: str, raw: dict) -> None:
        if (key := self._key(raw)) is None:
            return
        namespace, name = key
        ns = self.rt.cache.namespace(namespace)
        if kind == "DELETED":
            ns.delete_sensor(name)  # its Runs stay (history)
            return
        if ns.put_sensor(raw):
            self.rt.queue.add(("Sensor", namespace, name))

    def _on_source(self, kind: str, raw: dict) -> None:
        """A container Sensor's source Deployment: its Sensor reconciles when it changed or went away."""
        if (key := self._key(raw)) is None:
            return
        namespace, name = key
        owner = _owner(raw, "Sensor")
        if owner is None:
            return
        ns = self.rt.cache.namespace(namespace)
        if kind == "DELETED":
            ns.delete_source(owner)
        elif not ns.put_source(owner, _slim_source(raw)):
            return
        self.rt.queue.add(("Sensor", namespace, owner))

    def _on_schedule(self, kind: str, raw: dict) -> None:
        if (key := self._key(raw)) is None:
            return
        namespace, name = key
        ns = self.rt.cache.namespace(namespace)
        if kind == "DELETED":
            ns.delete_schedule(name)  # its Runs stay (history); the queued key finds it gone
            return
        if ns.put_schedule(raw):
            self.rt.queue.add(("Schedule", namespace, name))

    def _on_backfill(self, kind: str, raw: dict) -> None:
        if (key := self._key(raw)) is None:
            return
        namespace, name = key
        ns = self.rt.cache.namespace(namespace)
        if kind == "DELETED":
            ns.delete_backfill(name)  # its reconcile finds it gone and cancels its unstarted Runs
        elif not ns.put_backfill(raw):
            return
        self.rt.queue.add(("Backfill", namespace, name))

    def _on_step_job(self, kind: str, raw: dict) -> None:
        if (key := self._key(raw)) is None:
            return
        namespace, name = key
        owner = _owner(raw, "Run")
        if owner is None:
            return
        ns = self.rt.cache.namespace(namespace)
        if kind == "DELETED":
            ns.delete_step_job(owner, name)
        elif not ns.put_step_job(owner, slim_step_job(raw)):
            return  # pods came and went; the Job's outcome did not change
        self.rt.queue.add(("Run", namespace, owner))

    def _on_slice(self, kind: str, raw: dict) -> None:
        """Another writer's change to partition records (the operator's own writes enqueue their Asset)."""
        if (key := self._key(raw)) is None:
            return
        namespace, name = key
        ns = self.rt.cache.namespace(namespace)
        asset = ns.delete_slice(name) if kind == "DELETED" else ns.put_slice(raw)
        if asset:
            self.rt.queue.add(("Asset", namespace, asset))
            self.rt.enqueue("Asset", namespace, ns.record_readers(asset))

    # -- workers ----------------------------------------------------------------------------------------

    def _work(self) -> None:
        queue = self.rt.queue
        while (item := queue.get()) is not None:
            key, _waited = item
            kind, namespace, name = key
            self.metrics.queue_wait.labels(kind).observe(_waited)
            started = time.monotonic()
            try:
                delay = RECONCILERS[kind](self.rt, namespace, name)
            except ApiError as exc:
                self.metrics.reconcile_errors.labels(kind).inc()
                log.warning("Reconcile of %s %s/%s failed, retrying in %.2fs: %s", kind, namespace, name,
                            queue.add_rate_limited(key), exc)
            except Exception:
                self.metrics.reconcile_errors.labels(kind).inc()
                log.exception("Reconcile of %s %s/%s failed unexpectedly", kind, namespace, name)
                queue.add_rate_limited(key)
            else:
                queue.forget(key)
                if delay:
                    queue.add_after(key, delay)
            finally:
                self.metrics.reconcile_duration.labels(kind).observe(time.monotonic() - started)
                queue.done(key)

    def _cached_assets(self):
        """(namespace, Asset) of every valid cached Asset, for the metrics collector at scrape time."""
        for ns in self.rt.cache.namespaces():
            for asset in ns.valid_assets():
                yield ns.name, asset

    def _resync_unfinished_runs(self) -> None:
        while not self._stopping.wait(self.settings.safety_timer_seconds):
            for ns in self.rt.cache.namespaces():
                try:
                    self._resync(ns)
                except Exception:  # noqa: BLE001 (a safety net that dies silently catches nothing again)
                    log.exception("Safety-net resync of namespace %s failed; the next pass tries again", ns.name)

    def _resync(self, ns) -> None:
        self.rt.enqueue("Run", ns.name, ns.unfinished_runs())
        self.rt.enqueue("Backfill", ns.name, ns.unfinished_backfills() + ns.orphaned_backfills())
        self.rt.enqueue("Schedule", ns.name, ns.schedule_names())
        self.rt.enqueue("Sensor", ns.name, ns.sensor_names())


def _generation(obj) -> int | None:
    meta = getattr(obj, "metadata", None)
    if meta is not None:
        return meta.generation
    return obj.raw["metadata"].get("generation")


def _owner(raw: dict, kind: str) -> str | None:
    """The name of the Kasset object of `kind` that owns `raw`, if one does."""
    return next((ref["name"] for ref in raw["metadata"].get("ownerReferences") or []
                 if ref.get("kind") == kind and ref.get("apiVersion", "").startswith(f"{GROUP}/")), None)


def _slim_source(raw: dict) -> dict:
    """What the Sensor reconciler reads of its source Deployment: identity, the spec it replaces, status."""
    meta = slim(raw)["metadata"]
    keep = ("name", "namespace", "uid", "resourceVersion", "annotations", "deletionTimestamp")
    return {"metadata": {k: meta[k] for k in keep if k in meta}, "status": raw.get("status") or {}}
