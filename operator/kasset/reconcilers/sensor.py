"""Sensors: create the Run of each event, and reconcile a Sensor's status.

- `request_materialization_runs` is called by the Run reconciler after it recorded a plan's materializations
  and before it writes the Run's status: every Sensor watching an asset gets one Run per materialization
  (cache index `sensors_by_asset`, O(1) per event). Until that status write lands, every reconcile plans the
  same materializations again and asks for the same Runs (409: already created), so a crash loses no event and
  duplicates none.
- `create_event_run` is shared with the webhook endpoint: create the Run (409 reads it), store it in the cache,
  queue it and the Sensor.
- `reconcile_sensor` keeps a container source's Deployment (see `sensorsource`) and writes status (counts and
  recent Runs from the cache, index `runs_by_sensor`), the Ready and SourceAvailable conditions.

Does not: turn events into requests (see `kasset.planning.sensor`) or serve HTTP (see `kasset.runtime.webhooks`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from kasset.api.base import API_VERSION
from kasset.api.contract import READY
from kasset.api.run import Run
from kasset.api.sensor import Sensor
from kasset.k8s import NotFound
from kasset.planning.dag import Problem
from kasset.planning.model import RunPlan, RunRequest, warn_when_false
from kasset.planning.names import derived_run_name
from kasset.planning.sensor import (Event, SourceState, build_run_request, materialization_events, plan_sensor_status,
                                    seen_before)
from kasset.planning.templates import TemplateError
from kasset.reconcilers.requests import run_manifest
from kasset.reconcilers.runtime import Runtime
from kasset.reconcilers.sensorsource import reconcile_source
from kasset.reconcilers.status import model_meta, valid_or_reported, write_model_status
from kasset.runtime.cache import NamespaceCache

log = logging.getLogger("kasset.sensor")
#: Names tried for one event's Run before giving up (each further one only after a hash collision).
NAME_CHAIN = 3


def webhook_path(namespace: str, name: str) -> str:
    return f"/sensors/{namespace}/{name}"


def reconcile_sensor(rt: Runtime, namespace: str, name: str) -> float | None:
    ns = rt.cache.namespace(namespace)
    sensor = valid_or_reported(rt, "sensors", ns.sensors, name, outcome=READY)
    if sensor is None or sensor.metadata.deletion_timestamp is not None:
        return None
    path = webhook_path(namespace, name)
    endpoint = path if sensor.spec.asset_materialized is None else None
    source = reconcile_source(rt, ns, sensor, path)
    problem = _problem(ns, sensor) or (source if isinstance(source, Problem) else None)
    status = plan_sensor_status(sensor, runs=ns.runs_of_sensor(name), now=rt.clock(), problem=problem,
                                endpoint=endpoint, source=source if isinstance(source, SourceState) else None)
    if write_model_status(rt, "sensors", sensor, status):
        for event in warn_when_false(sensor.status.conditions, status.conditions, READY):
            emit(rt, sensor, event.type, event.reason, event.message)
    return None


def _problem(ns: NamespaceCache, sensor: Sensor) -> Problem | None:
    if sensor.spec.job_ref is not None and sensor.spec.job_ref.name not in ns.jobs.versions:
        return Problem("JobNotFound", f"spec.jobRef: Job {sensor.spec.job_ref.name} not found")
    return None


def request_materialization_runs(rt: Runtime, ns: NamespaceCache, run: Run, plan: RunPlan) -> None:
    """One Run per (Sensor watching the asset, materialization recorded by `plan`)."""
    for asset, event in materialization_events(run, plan, ns.assets.valid):
        for sensor in ns.sensors_watching(asset):
            if sensor.spec.suspend:
                continue
            try:
                request_event_run(rt, ns, sensor, event)
            except TemplateError:
                continue  # the Sensor's Warning Event names the field; the Run's own progress goes on


@dataclass(frozen=True)
class EventRun:
    """The Run an event became: its name and runKey, and whether this call created it."""

    name: str
    run_key: str
    created: bool


def request_event_run(rt: Runtime, ns: NamespaceCache, sensor: Sensor, event: Event) -> EventRun | None:
    """Create the Run of `event`, unless the Sensor has seen the event before (its Run may since have been
    pruned); None when the Run could not be created or read. Raises TemplateError (a Warning Event on the
    Sensor says why) for the webhook to answer."""
    try:
        request = build_run_request(sensor, event)
    except TemplateError as exc:
        emit(rt, sensor, "Warning", "EventRefused", f"event {event.key}: {exc}")
        raise
    if seen_before(sensor, event):
        return EventRun(request.name, request.spec.run_key, created=False)
    return create_event_run(rt, ns, sensor, request)


def create_event_run(rt: Runtime, ns: NamespaceCache, sensor: Sensor, request: RunRequest) -> EventRun | None:
    """Create the request's Run. A Run of that name with another runKey (a hash collision) moves the request to
    the next name of its deterministic chain, so no event is ever taken for another's duplicate."""
    for attempt in range(NAME_CHAIN):
        candidate = request if attempt == 0 else replace(request, name=derived_run_name(
            sensor.metadata.name, f"{request.spec.run_key}#{attempt}"))
        created, ok = rt.kube.create("runs", ns.name, run_manifest(candidate))
        if not ok:
            try:
                created = rt.kube.get("runs", ns.name, candidate.name)
            except NotFound:
                return None
            if (created.get("spec") or {}).get("runKey") != candidate.spec.run_key:
                log.warning("Run %s/%s belongs to another runKey than %s; trying the next name", ns.name,
                            candidate.name, candidate.spec.run_key)
                continue
        _created_event_run(rt, ns, sensor, candidate, created, ok)
        return EventRun(candidate.name, candidate.spec.run_key, created=ok)
    return None


def _created_event_run(rt: Runtime, ns: NamespaceCache, sensor: Sensor, request: RunRequest, created: dict,
                       ok: bool) -> None:
    ns.put_run(created)
    rt.queue.add(("Run", ns.name, request.name))
    rt.queue.add(("Sensor", ns.name, sensor.metadata.name))
    if ok:
        log.info("Created Run %s/%s for Sensor %s (%s)", ns.name, request.name, sensor.metadata.name,
                 request.spec.run_key)
        emit(rt, sensor, "Normal", "CreatedRun", f"created Run {request.name} for {request.spec.run_key}")


def emit(rt: Runtime, sensor: Sensor, type_: str, reason: str, message: str) -> None:
    manifest = {"apiVersion": API_VERSION, "kind": "Sensor", "metadata": model_meta(sensor)}
    rt.kube.emit_event(manifest, type_=type_, reason=reason, message=message)
