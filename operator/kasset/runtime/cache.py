"""The operator's watch-fed cache: every Asset, Job, Run and step Job it owns, parsed once per change, with
the indexes the reconcilers need (client-go's indexer, per namespace):

    assets        name -> Asset             dependants     upstream name -> names of Assets that depend on it
    facts         name -> AssetFacts        jobs_by_asset  asset name -> Jobs whose selection names it
    slices        name -> PartitionSlice    records        asset name -> {partition key: (slice, record)}
    jobs          name -> Job               runs_by_job    Job name ('' for Runs without one) -> Run names
    runs          name -> Run               step_jobs      Run name -> {Job name: the Job's slim dict}
    backfills     name -> Backfill          runs_by_backfill  label kasset.dev/backfill -> Run names
    schedules     name -> Schedule          runs_by_schedule  label kasset.dev/schedule -> Run names
    sensors       name -> Sensor            runs_by_sensor    label kasset.dev/sensor -> Run names
                                            sensors_by_asset  asset name -> Sensors watching its materializations
                                            sources        Sensor name -> its source Deployment (slim dict)

Objects whose spec the models reject are kept aside with their error (their reconciler reports it). A
`NamespaceCache` is the planners' `AssetCatalog`. Every accessor takes the lock and returns immutable values
or copies, so worker threads never see a set change under them. An event older than what the cache holds
(a watch event arriving after the operator's own write was stored), or the very version it holds, is ignored.

Does not: talk to the API (the informers feed it) or decide what to reconcile.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails

from kasset.api.asset import Asset
from kasset.api.backfill import Backfill
from kasset.api.schedule import Schedule
from kasset.api.sensor import Sensor
from kasset.api.contract import ANNOTATION_SOURCE_HASH, LABEL_BACKFILL, LABEL_SCHEDULE, LABEL_SENSOR
from kasset.api.job import Job
from kasset.api.partitionslice import PartitionRecord
from kasset.api.run import Run
from kasset.planning.backfill import backfill_of, is_backfill_finished
from kasset.planning.catalog import AssetFacts
from kasset.planning.names import sanitize_label_value
from kasset.planning.run import is_run_finished

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger("kasset.cache")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Invalid:
    """An object the models reject: enough of it to write its status, and the first error naming the field."""

    raw: dict[str, Any]
    error: ValidationError


def newer(incoming: str | None, held: str | None) -> bool:
    """Whether resourceVersion `incoming` is newer than `held`. resourceVersions are opaque to clients, but
    etcd-backed servers issue increasing integers; anything else counts as newer."""
    if held is None or incoming is None or not (incoming.isdigit() and held.isdigit()):
        return True
    return int(incoming) > int(held)


def slim(raw: dict[str, Any]) -> dict[str, Any]:
    """An object without managedFields and kopf's last-handled copy of the spec: what the cache keeps of it."""
    meta = {k: v for k, v in raw["metadata"].items() if k != "managedFields"}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if "last-handled" not in k}
    meta["annotations"] = annotations
    return {**raw, "metadata": meta}


def slim_step_job(raw: dict) -> dict:
    """What the Run reconciler reads of a step Job: identity, owner, completion mode and status."""
    meta = slim(raw)["metadata"]
    keep = ("name", "namespace", "uid", "resourceVersion", "ownerReferences", "creationTimestamp")
    return {"metadata": {k: meta[k] for k in keep if k in meta},
            "spec": {"completionMode": (raw.get("spec") or {}).get("completionMode")},
            "status": raw.get("status") or {}}


def _unexpected(model: type[BaseModel], exc: Exception) -> ValidationError:
    """An error the models raised other than a ValidationError, as one (on `spec`): the object is kept aside
    with a condition like any invalid one, and the bug is logged, instead of breaking its informer."""
    log.error("Parsing a %s raised %s", model.__name__, type(exc).__name__, exc_info=exc)
    error = ValueError(f"could not be parsed ({type(exc).__name__}: {exc})")
    return ValidationError.from_exception_data(model.__name__, [
        InitErrorDetails(type="value_error", loc=("spec",), input=None, ctx={"error": error})])


class Kind(Generic[M]):
    """Parsed objects of one kind in one namespace. The watch event of a version the cache already holds (the
    echo of the operator's own write, stored when it was written) is not a change: whoever writes an object
    enqueues what that write affects."""

    def __init__(self, model: type[M]):
        self.model = model
        self.valid: dict[str, M] = {}
        self.invalid: dict[str, Invalid] = {}
        self.versions: dict[str, str] = {}

    def put(self, raw: dict[str, Any]) -> tuple[M | Invalid | None, M | Invalid | None] | None:
        """Store `raw`; (old, new), or None when the cache already holds a newer version."""
        name = raw["metadata"]["name"]
        version = raw["metadata"].get("resourceVersion")
        if not newer(version, self.versions.get(name)):
            return None
        old = self.valid.get(name) or self.invalid.get(name)
        try:
            new: M | Invalid = self.model.model_validate(raw)
            self.valid[name] = new  # replaced in place: a reader without the lock never finds the name missing
            self.invalid.pop(name, None)
        except Exception as exc:  # noqa: BLE001 (a model that raises anything else is our bug, not the tenant's)
            new = Invalid(slim(raw), exc if isinstance(exc, ValidationError) else _unexpected(self.model, exc))
            self.invalid[name] = new
            self.valid.pop(name, None)
        self.versions[name] = version
        return old, new

    def pop(self, name: str) -> M | Invalid | None:
        self.versions.pop(name, None)
        return self.valid.pop(name, None) or self.invalid.pop(name, None)


class NamespaceCache:
    """One namespace's objects and indexes (see the module docstring). Implements `AssetCatalog`."""

    def __init__(self, name: str, lock: threading.RLock):
        self.name = name
        self._lock = lock
        self.assets: Kind[Asset] = Kind(Asset)
        self.jobs: Kind[Job] = Kind(Job)
        self.runs: Kind[Run] = Kind(Run)
        self.backfills: Kind[Backfill] = Kind(Backfill)
        self.schedules: Kind[Schedule] = Kind(Schedule)
        self.sensors: Kind[Sensor] = Kind(Sensor)
        self._facts: dict[str, AssetFacts] = {}
        self._dependants: dict[str, set[str]] = {}
        self._jobs_by_asset: dict[str, set[str]] = {}
        self._runs_by_job: dict[str, set[str]] = {}
        self._unfinished_by_job: dict[str, list[tuple[datetime, str]]] = {}  # sorted (creation, name)
        self._step_jobs: dict[str, dict[str, dict]] = {}
        self._waiting_runs: set[str] = set()
        self._runs_by_backfill: dict[str, set[str]] = {}
        self._waiting_backfills: set[str] = set()
        self._runs_by_schedule: dict[str, set[str]] = {}
        self._waiting_schedules: set[str] = set()
        self._runs_by_sensor: dict[str, set[str]] = {}
        self._sensors_by_asset: dict[str, set[str]] = {}
        self._sources: dict[str, dict] = {}
        self._slices: dict[str, dict] = {}
        self._dynamic_targets: dict[str, set[str]] = {}
        self._records: dict[str, dict[str, tuple[str, PartitionRecord]]] = {}

    # -- AssetCatalog ----------------------------------------------------------------------------------

    def get(self, name: str) -> Asset | None:
        return self.assets.valid.get(name)

    def __getitem__(self, name: str) -> Asset:
        return self.assets.valid[name]

    def facts(self, name: str) -> AssetFacts | None:
        return self._facts.get(name)

    def dependants(self, name: str) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._dependants.get(name, ())))

    def record_readers(self, name: str) -> tuple[str, ...]:
        """The Eager partitioned dependants of `name`: they plan from its partition records, so every change
        of those records concerns them (not only a change of the materialization it holds)."""
        with self._lock:
            found = (self.assets.valid.get(dep) for dep in self._dependants.get(name, ()))
            return tuple(sorted(asset.metadata.name for asset in found if asset is not None
                                and asset.spec.automation == "Eager" and asset.spec.partitions is not None))

    # -- reads ------------------------------------------------------------------------------------------

    def jobs_selecting(self, asset: str) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._jobs_by_asset.get(asset, ())))

    def runs_of(self, job: str | None) -> list[Run]:
        """The Runs of Job `job` (None: Runs without a Job)."""
        with self._lock:
            names = list(self._runs_by_job.get(job or "", ()))
            return [run for name in names if (run := self.runs.valid.get(name)) is not None]

    def step_jobs_of(self, run: str) -> list[dict]:
        with self._lock:
            return list(self._step_jobs.get(run, {}).values())

    def waiting_runs(self) -> tuple[str, ...]:
        """Runs waiting for an Asset or Job to appear."""
        with self._lock:
            return tuple(sorted(self._waiting_runs))

    def mark_waiting(self, run: str, waiting: bool) -> None:
        with self._lock:
            if waiting:
                self._waiting_runs.add(run)
            else:
                self._waiting_runs.discard(run)

    def unfinished_runs_of(self, job: str | None) -> list[str]:
        """The unfinished Runs of Job `job` (None: Runs without a Job)."""
        return [run.metadata.name for run in self.runs_of(job) if not is_run_finished(run)]

    def runs_waiting_for_a_slot(self, job: str) -> list[str]:
        """The first maxConcurrentRuns unfinished Runs of Job `job` in creation order (those a finished Run's
        slot may let start: the queued ones behind them cannot start yet), when the Job bounds them; none
        otherwise. O(maxConcurrentRuns), whatever the queue's length."""
        found = self.jobs.valid.get(job)
        if found is None or found.spec.max_concurrent_runs is None:
            return []
        with self._lock:
            return [name for _, name in self._unfinished_by_job.get(job, [])[:found.spec.max_concurrent_runs]]

    def unfinished_runs_before(self, run: Run) -> int:
        """How many other unfinished Runs of `run`'s Job were created before it (ties by name): its place in
        the Job's maxConcurrentRuns queue. O(log n)."""
        job = run.spec.job_ref.name if run.spec.job_ref is not None else ""
        with self._lock:
            return bisect.bisect_left(self._unfinished_by_job.get(job, []), _run_order(run))

    def _reorder_unfinished(self, old: Run | Invalid | None, new: Run | Invalid | None) -> None:
        """Keep each Job's unfinished Runs sorted by (creation, name), as the queue orders them."""
        for run, add in ((old, False), (new, True)):
            if not isinstance(run, Run) or is_run_finished(run):
                continue
            order = self._unfinished_by_job.setdefault(_job_of(run)[0], [])
            at = bisect.bisect_left(order, _run_order(run))
            present = at < len(order) and order[at] == _run_order(run)
            if add and not present:
                order.insert(at, _run_order(run))
            elif not add and present:
                del order[at]

    def valid_assets(self) -> list[Asset]:
        """Every Asset whose spec parsed, as a list taken under the lock (informers add and drop Assets while a
        scrape reads them)."""
        with self._lock:
            return list(self.assets.valid.values())

    def unfinished_runs(self) -> list[str]:
        with self._lock:
            return [name for name, run in self.runs.valid.items() if not is_run_finished(run)]

    def runs_of_backfill(self, backfill: str) -> list[Run]:
        """The Runs labelled with Backfill `backfill` (its own, and any of an earlier Backfill of that name)."""
        with self._lock:
            names = list(self._runs_by_backfill.get(sanitize_label_value(backfill), ()))
            return [run for name in names if (run := self.runs.valid.get(name)) is not None]

    def runs_of_schedule(self, schedule: str) -> list[Run]:
        """The Runs labelled with Schedule `schedule`."""
        with self._lock:
            names = list(self._runs_by_schedule.get(sanitize_label_value(schedule), ()))
            return [run for name in names if (run := self.runs.valid.get(name)) is not None]

    def waiting_schedules(self) -> tuple[str, ...]:
        """Schedules whose target did not resolve: looked at again when a Job or an Asset changes."""
        with self._lock:
            return tuple(sorted(self._waiting_schedules))

    def mark_schedule_waiting(self, schedule: str, waiting: bool) -> None:
        with self._lock:
            if waiting:
                self._waiting_schedules.add(schedule)
            else:
                self._waiting_schedules.discard(schedule)

    def schedule_names(self) -> list[str]:
        with self._lock:
            return sorted(self.schedules.versions)

    def runs_of_sensor(self, sensor: str) -> list[Run]:
        """The Runs labelled with Sensor `sensor`."""
        with self._lock:
            names = list(self._runs_by_sensor.get(sanitize_label_value(sensor), ()))
            return [run for name in names if (run := self.runs.valid.get(name)) is not None]

    def sensors_watching(self, asset: str) -> list[Sensor]:
        """The valid Sensors whose assetMaterialized source names `asset`."""
        with self._lock:
            names = sorted(self._sensors_by_asset.get(asset, ()))
            return [sensor for name in names if (sensor := self.sensors.valid.get(name)) is not None]

    def sensor_names(self) -> list[str]:
        with self._lock:
            return sorted(self.sensors.versions)

    def has_run(self, name: str) -> bool:
        """Whether a Run of that name exists (valid or not)."""
        with self._lock:
            return name in self.runs.versions

    def held_by_backfill(self, run: Run) -> bool:
        """Whether `run` was created by a Backfill that still exists (such Runs are not pruned by history
        limits: the Backfill counts its partitions by them)."""
        name = backfill_of(run)
        with self._lock:
            return name is not None and name in self.backfills.versions

    def unfinished_backfills(self) -> list[str]:
        """Backfills whose Complete condition is not True or False yet, and those waiting for a Job or Asset."""
        with self._lock:
            unfinished = [name for name, bf in self.backfills.valid.items() if not is_backfill_finished(bf)]
            return sorted(set(unfinished) | self._waiting_backfills)

    def orphaned_backfills(self) -> list[str]:
        """Names of gone Backfills that still have unstarted Runs (deleted while the operator was down): their
        reconcile cancels those Runs."""
        with self._lock:
            found = set()
            for names in self._runs_by_backfill.values():
                for name in names:
                    run = self.runs.valid.get(name)
                    if run is None or run.status.start_time is not None or is_run_finished(run):
                        continue
                    backfill = backfill_of(run)
                    if backfill is not None and backfill not in self.backfills.versions:
                        found.add(backfill)
            return sorted(found)

    def waiting_backfills(self) -> tuple[str, ...]:
        """Backfills whose target did not resolve: looked at again when a Job or an Asset changes."""
        with self._lock:
            return tuple(sorted(self._waiting_backfills))

    def mark_backfill_waiting(self, backfill: str, waiting: bool) -> None:
        with self._lock:
            if waiting:
                self._waiting_backfills.add(backfill)
            else:
                self._waiting_backfills.discard(backfill)

    # -- writes (facts) ---------------------------------------------------------------------------------

    def set_facts(self, name: str, facts: AssetFacts | None) -> bool:
        """Record an Asset's derived facts (None: forget them); True when they changed."""
        with self._lock:
            old = self._facts.get(name)
            if facts is None:
                self._facts.pop(name, None)
            else:
                self._facts[name] = facts
            return old != facts

    # -- writes (from the informers) -------------------------------------------------------------------

    def put_asset(self, raw: dict) -> bool:
        with self._lock:
            change = self.assets.put(raw)
            if change is None:
                return False
            self._reindex(self._dependants, change, lambda a: [d.asset for d in a.spec.deps])
            self._reindex(self._dynamic_targets, change, _dynamic_sources)
            return True

    def delete_asset(self, name: str) -> None:
        with self._lock:
            old = self.assets.pop(name)
            self._reindex(self._dependants, (old, None), lambda a: [d.asset for d in a.spec.deps], name=name)
            self._reindex(self._dynamic_targets, (old, None), _dynamic_sources, name=name)

    def put_job(self, raw: dict) -> bool:
        with self._lock:
            change = self.jobs.put(raw)
            if change is None:
                return False
            self._reindex(self._jobs_by_asset, change, _selected_assets)
            return True

    def delete_job(self, name: str) -> None:
        with self._lock:
            old = self.jobs.pop(name)
            self._reindex(self._jobs_by_asset, (old, None), _selected_assets, name=name)

    def put_run(self, raw: dict) -> bool:
        with self._lock:
            change = self.runs.put(raw)
            if change is None:
                return False
            self._reindex(self._runs_by_job, change, _job_of)
            self._reindex(self._runs_by_backfill, change, _backfill_label_of)
            self._reindex(self._runs_by_schedule, change, _schedule_label_of)
            self._reindex(self._runs_by_sensor, change, _sensor_label_of)
            self._reorder_unfinished(*change)
            return True

    def delete_run(self, name: str) -> None:
        with self._lock:
            old = self.runs.pop(name)
            self._reorder_unfinished(old, None)
            self._reindex(self._runs_by_job, (old, None), _job_of, name=name)
            self._reindex(self._runs_by_backfill, (old, None), _backfill_label_of, name=name)
            self._reindex(self._runs_by_schedule, (old, None), _schedule_label_of, name=name)
            self._reindex(self._runs_by_sensor, (old, None), _sensor_label_of, name=name)
            self._waiting_runs.discard(name)

    def put_backfill(self, raw: dict) -> bool:
        with self._lock:
            return self.backfills.put(raw) is not None

    def delete_backfill(self, name: str) -> None:
        with self._lock:
            self.backfills.pop(name)
            self._waiting_backfills.discard(name)

    def put_schedule(self, raw: dict) -> bool:
        with self._lock:
            return self.schedules.put(raw) is not None

    def delete_schedule(self, name: str) -> None:
        with self._lock:
            self.schedules.pop(name)
            self._waiting_schedules.discard(name)

    def put_sensor(self, raw: dict) -> bool:
        with self._lock:
            change = self.sensors.put(raw)
            if change is None:
                return False
            self._reindex(self._sensors_by_asset, change, _watched_assets)
            return True

    def delete_sensor(self, name: str) -> None:
        with self._lock:
            old = self.sensors.pop(name)
            self._reindex(self._sensors_by_asset, (old, None), _watched_assets, name=name)

    def source_of(self, sensor: str) -> dict | None:
        """The source Deployment of a container Sensor, as last seen (slimmed)."""
        with self._lock:
            return self._sources.get(sensor)

    def put_source(self, sensor: str, raw: dict) -> bool:
        """Store a Sensor's source Deployment; True when what the Sensor reconciler reads of it changed (its
        spec hash, deletion or status), not on a metadata-only update."""
        with self._lock:
            old = self._sources.get(sensor)
            self._sources[sensor] = raw
            return old is None or _source_facts(old) != _source_facts(raw)

    def delete_source(self, sensor: str) -> None:
        with self._lock:
            self._sources.pop(sensor, None)

    def put_step_job(self, run: str, raw: dict) -> bool:
        """Store a step Job (the created object, or a newer version from the watch); True when what the Run
        reconciler reads of it changed (it is new, or its outcome conditions changed), not on every pod count
        change."""
        with self._lock:
            jobs = self._step_jobs.setdefault(run, {})
            old = jobs.get(raw["metadata"]["name"])
            if old is not None and not newer(raw["metadata"].get("resourceVersion"),
                                             old["metadata"].get("resourceVersion")):
                return False  # the echo of the operator's own create, or an older event
            jobs[raw["metadata"]["name"]] = raw
            return old is None or _outcome(old) != _outcome(raw) or _retries(old) != _retries(raw)

    def delete_step_job(self, run: str, name: str) -> None:
        with self._lock:
            jobs = self._step_jobs.get(run, {})
            jobs.pop(name, None)
            if not jobs:
                self._step_jobs.pop(run, None)

    # -- partition records (PartitionSlices) -------------------------------------------------------------

    def records_of(self, asset: str) -> dict[str, PartitionRecord]:
        """The partition records of Asset `asset` by key (a copy)."""
        with self._lock:
            return {key: record for key, (_, record) in self._records.get(asset, {}).items()}

    def dynamic_targets(self, source: str) -> tuple[str, ...]:
        """Assets with a dynamic dimension whose keys asset `source`'s steps add (`addedBy`)."""
        with self._lock:
            return tuple(sorted(self._dynamic_targets.get(source, ())))

    def slice_of(self, asset: str, key: str) -> str | None:
        """The PartitionSlice holding the record of `key`, if any."""
        with self._lock:
            found = self._records.get(asset, {}).get(key)
            return found[0] if found is not None else None

    def partition_count(self, asset: str) -> int:
        with self._lock:
            return len(self._records.get(asset, {}))

    def slice_raw(self, name: str) -> dict | None:
        with self._lock:
            return self._slices.get(name)

    def put_slice(self, raw: dict) -> str | None:
        """Store a PartitionSlice; the asset whose records changed, or None (an echo, or an older version)."""
        name = raw["metadata"]["name"]
        with self._lock:
            held = self._slices.get(name)
            if held is not None and not newer(raw["metadata"].get("resourceVersion"),
                                              held["metadata"].get("resourceVersion")):
                return None
            self._drop_slice_records(name)
            self._slices[name] = slim(raw)
            asset = (raw.get("spec") or {}).get("asset")
            if not asset:
                return None
            records = self._records.setdefault(asset, {})
            for item in (raw.get("status") or {}).get("records") or []:
                try:
                    record = PartitionRecord.model_validate(item)
                except ValidationError:
                    continue
                records[record.partition] = (name, record)
            return asset

    def delete_slice(self, name: str) -> str | None:
        with self._lock:
            held = self._slices.pop(name, None)
            self._drop_slice_records(name)
            return ((held or {}).get("spec") or {}).get("asset")

    def _drop_slice_records(self, name: str) -> None:
        held = self._slices.get(name)
        asset = ((held or {}).get("spec") or {}).get("asset")
        records = self._records.get(asset or "", {})
        for key in [key for key, (where, _) in records.items() if where == name]:
            del records[key]

    @staticmethod
    def _reindex(index: dict[str, set[str]], change, keys_of, *, name: str | None = None) -> None:
        old, new = change
        for obj, add in ((old, False), (new, True)):
            if obj is None or isinstance(obj, Invalid):
                continue
            for key in keys_of(obj):
                members = index.setdefault(key, set())
                if add:
                    members.add(obj.metadata.name)
                else:
                    members.discard(obj.metadata.name)
                    if not members:
                        del index[key]


def _outcome(step_job: dict) -> frozenset[str]:
    return frozenset(c.get("type") for c in (step_job.get("status") or {}).get("conditions") or []
                     if c.get("status") == "True")


def _source_facts(deployment: dict) -> tuple:
    """What the Sensor reconciler reads of its source Deployment: the spec hash, deletion and status (a
    Deployment's status changes only when its rollout or availability does, it has no heartbeat)."""
    meta = deployment["metadata"]
    return ((meta.get("annotations") or {}).get(ANNOTATION_SOURCE_HASH), meta.get("deletionTimestamp"),
            deployment.get("status"))


def _retries(step_job: dict) -> int:
    return (step_job.get("status") or {}).get("failed") or 0


def _dynamic_sources(asset: Asset) -> Iterable[str]:
    definition = asset.spec.partitions
    if definition is None:
        return ()
    return [dim.dynamic.added_by for dim in definition.dimensions if dim.dynamic is not None and dim.dynamic.added_by]


def _selected_assets(job: Job) -> Iterable[str]:
    return job.spec.selection.assets if job.spec.selection is not None else ()


def _run_order(run: Run) -> tuple[datetime, str]:
    return run.metadata.creation_timestamp or _EPOCH, run.metadata.name


def _job_of(run: Run) -> tuple[str]:
    return (run.spec.job_ref.name if run.spec.job_ref is not None else "",)


def _backfill_label_of(run: Run) -> Iterable[str]:
    label = run.metadata.labels.get(LABEL_BACKFILL)
    return (label,) if label else ()


def _schedule_label_of(run: Run) -> Iterable[str]:
    label = run.metadata.labels.get(LABEL_SCHEDULE)
    return (label,) if label else ()


def _sensor_label_of(run: Run) -> Iterable[str]:
    label = run.metadata.labels.get(LABEL_SENSOR)
    return (label,) if label else ()


def _watched_assets(sensor: Sensor) -> Iterable[str]:
    source = sensor.spec.asset_materialized
    return source.assets if source is not None else ()


class Cache:
    """Every namespace the operator watches, created on first use."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._namespaces: dict[str, NamespaceCache] = {}

    def namespace(self, name: str) -> NamespaceCache:
        with self._lock:
            found = self._namespaces.get(name)
            if found is None:
                found = self._namespaces[name] = NamespaceCache(name, self._lock)
            return found

    def find_namespace(self, name: str) -> NamespaceCache | None:
        """The namespace's cache if the watches have put anything in it; never creates one (a caller's input,
        such as a webhook's path, must not grow the cache)."""
        with self._lock:
            return self._namespaces.get(name)

    def namespaces(self) -> list[NamespaceCache]:
        with self._lock:
            return list(self._namespaces.values())
