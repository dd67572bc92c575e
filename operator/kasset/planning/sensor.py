"""Sensors, pure: events → Run requests, and a Sensor's status from its Runs.

An event has a key and plain-JSON data. The Run's `runKey` is `sensor/<sensor uid>/<key>` and its name
`<sensor>-<hash of the runKey>`, so the same event always asks for the same Run, and creating it again answers
409. Keys:
- a materialization: `materialized/<asset>/<partition or ->/<run>`: one per asset, partition and Run, so 100
  partitions materialized by one Run are 100 events;
- a webhook call: `webhook/<event id>`.

Does not: read the cluster, authenticate callers, or create anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kasset.api.asset import Asset
from kasset.api.conditions import find_condition, set_condition
from kasset.api.contract import LABEL_SENSOR, LABEL_TRIGGER, READY, SOURCE_AVAILABLE, SUCCEEDED
from kasset.api.run import Run, Trigger
from kasset.api.sensor import MAX_RECENT_RUNS, MAX_SEEN_KEYS, Sensor, SensorRun, SensorStatus
from kasset.planning.dag import Problem
from kasset.planning.model import RunPlan, RunRequest, rendered_run_spec
from kasset.planning.names import KEY_HASH_LENGTH, derived_run_name, sanitize_label_value, short_hash
from kasset.planning.templates import TemplateError, render, render_params


@dataclass(frozen=True)
class SourceState:
    """A container source as status tells it: SourceAvailable's status, reason and message; the Deployment."""

    status: str
    reason: str
    message: str
    deployment: str


@dataclass(frozen=True)
class Event:
    """One event: its key (unique per Sensor) and the data templates see."""

    key: str
    data: Mapping[str, Any]


def sensor_of(run: Run) -> str | None:
    """The Sensor that created `run` (its label), if any."""
    return run.metadata.labels.get(LABEL_SENSOR)


def materialization_events(run: Run, plan: RunPlan, assets: Mapping[str, Asset]) -> list[tuple[str, Event]]:
    """(asset, event) for every materialization `plan` records for `run`: each partition of a partitioned
    asset (its records), the lastMaterialization of an unpartitioned one."""
    found: list[tuple[str, Event]] = []
    for update in plan.partition_records:
        record = update.record
        if record.run == run.metadata.name and record.time is not None:
            found.append((update.asset, _materialized(update.asset, record.partition, run.metadata.name,
                                                      time=record.time, data_version=record.data_version,
                                                      metadata=record.metadata)))
    for update in plan.materializations:
        asset = assets.get(update.asset)
        if asset is not None and asset.spec.partitions is None:
            m = update.materialization
            found.append((update.asset, _materialized(update.asset, None, m.run, time=m.time,
                                                      data_version=m.data_version, metadata=m.metadata)))
    return found


def _materialized(asset: str, partition: str | None, run: str, *, time: datetime, data_version: str | None,
                  metadata: Mapping[str, Any]) -> Event:
    data = {"asset": asset, "partition": partition, "run": run, "dataVersion": data_version,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"), "metadata": dict(metadata)}
    return Event(key=f"materialized/{asset}/{partition or '-'}/{run}", data=data)


def webhook_event(event_id: str, body: Any) -> Event:
    return Event(key=f"webhook/{event_id}", data={"body": body, "eventId": event_id})


def body_event_id(body: Any, path: str) -> str | None:
    """The event id at dotted `path` in a JSON body, as text; None when absent or not a scalar."""
    try:
        value = render("{{ " + path + " }}", {"body": body}, field="eventIdField")
    except TemplateError:
        return None
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None


def run_key(sensor: Sensor, event: Event) -> str:
    return f"sensor/{sensor.metadata.uid or sensor.metadata.name}/{event.key}"


def build_run_request(sensor: Sensor, event: Event) -> RunRequest:
    """The Run of `event`. Raises TemplateError (naming the field) when params or partition do not render."""
    spec, name, key = sensor.spec, sensor.metadata.name, run_key(sensor, event)
    params = render_params(spec.params, event.data, field="spec.params")
    partition = render(spec.partition, event.data, field="spec.partition") if spec.partition else None
    run_spec = rendered_run_spec(job_ref=spec.job_ref, selection=spec.selection, params=params,
                       partition=None if partition is None else str(partition),
                       trigger=Trigger(type="Sensor", source=f"Sensor/{name}"), run_key=key[:253])
    return RunRequest(name=derived_run_name(name, key), spec=run_spec,
                      labels={LABEL_SENSOR: sanitize_label_value(name), LABEL_TRIGGER: "sensor"})


def key_hash(run_key: str) -> str:
    """What status.seenKeys holds of an event's runKey."""
    return short_hash(run_key, KEY_HASH_LENGTH)


def remember_keys(seen: Sequence[str], runs_newest_first: Sequence[Run]) -> list[str]:
    """status.seenKeys: the keys of the Runs the cache holds, then those remembered before, newest first and
    bounded, so an event's key outlives its Run."""
    fresh = [key_hash(run.spec.run_key) for run in runs_newest_first if run.spec.run_key]
    merged = dict.fromkeys([*fresh, *seen])
    return list(merged)[:MAX_SEEN_KEYS]


def seen_before(sensor: Sensor, event: Event) -> bool:
    """Whether `event` became a Run already, as status.seenKeys remembers it (the Run may have been pruned)."""
    return key_hash(run_key(sensor, event)[:253]) in sensor.status.seen_keys


def plan_sensor_status(sensor: Sensor, *, runs: Sequence[Run], now: datetime, problem: Problem | None = None,
                       endpoint: str | None = None, source: SourceState | None = None) -> SensorStatus:
    """The Sensor's status from its Runs (as the cache holds them), any problem with its spec, and (container
    sources) the state of its source Deployment."""
    counts = {"running": 0, "succeeded": 0, "failed": 0}
    for run in runs:
        outcome = find_condition(run.status.conditions, SUCCEEDED)
        counts[{"True": "succeeded", "False": "failed"}.get(outcome.status if outcome else "", "running")] += 1
    recent = sorted(runs, key=lambda r: (r.metadata.creation_timestamp or now, r.metadata.name), reverse=True)
    recent_runs = [SensorRun(run=r.metadata.name, run_key=r.spec.run_key or "",
                             time=r.metadata.creation_timestamp or now)
                   for r in recent[:MAX_RECENT_RUNS]]
    times = [t for t in (sensor.status.last_event_time, recent_runs[0].time if recent_runs else None) if t]
    if problem is not None:
        reason, message = problem.reason, problem.message
    elif sensor.spec.suspend:
        reason, message = "Suspended", "spec.suspend is true: events are refused"
    else:
        reason, message = "Listening", _listening(sensor, endpoint)
    conditions = set_condition(sensor.status.conditions, type=READY, status="False" if problem else "True",
                               reason=reason, message=message, now=now, generation=sensor.metadata.generation)
    if source is not None:
        conditions = set_condition(conditions, type=SOURCE_AVAILABLE, status=source.status, reason=source.reason,
                                   message=source.message, now=now, generation=sensor.metadata.generation)
    else:
        conditions = [c for c in conditions if c.type != SOURCE_AVAILABLE]
    return sensor.status.model_copy(update={
        "observed_generation": sensor.metadata.generation, "conditions": conditions, "recent_runs": recent_runs,
        "last_event_time": max(times) if times else None, "endpoint": endpoint,
        "seen_keys": remember_keys(sensor.status.seen_keys, recent),
        "source": source.deployment if source is not None else None, **counts})


def _listening(sensor: Sensor, endpoint: str | None) -> str:
    if sensor.spec.asset_materialized is not None:
        return "every materialization of " + ", ".join(sensor.spec.asset_materialized.assets) + " becomes a Run"
    if sensor.spec.container is not None:
        return f"the source container POSTs events to {endpoint} on the operator's port"
    return f"POST events to {endpoint} on the operator's port"
