"""Assemble a Run's status from its steps' statuses, keep it under its size limit, and build the materializations
its asset steps produced.

Size: a Run's status stays under MAX_RUN_STATUS_BYTES (256 KiB as JSON) even with 500 steps whose every field
is at its maximum. Every field has a limit (see `kasset.api.run`); when the sum is still too big,
`bound_run_status` drops step details in a fixed order, least useful first: metadata, messages of steps that
did not fail, asset names repeating step names, job names and times of finished steps, results no unfinished
step reads, inline items, resultRefs still read, the failure messages, the job names of running steps. What
a later step still reads goes last: without inline items or resultRef a fan-out step fails saying so.

Events: one Warning StepFailed per failed step and one RunSucceeded / RunFailed at the end; no Event per
succeeded step (they would cost an API write per step).

Does not: decide step states (see `steps`) or launches (see `run`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kasset.api.asset import MAX_MATERIALIZATION_METADATA_BYTES, Asset
from kasset.api.base import MESSAGE_MAX_LENGTH, json_size, to_manifest, truncate_message
from kasset.api.conditions import ConditionStatus, set_condition
from kasset.api.run import MAX_RUN_STATUS_BYTES, TERMINAL_STATES, Run, RunStatus, StepStatus
from kasset.api.contract import SUCCEEDED
from kasset.planning.checks import describe_blocking_failure
from kasset.planning.graph import StepGraph
from kasset.planning.lineage import build_materialization
from kasset.planning.model import MaterializationUpdate, ObservedJob, PlanEvent
from kasset.planning.settings import PlanSettings
from kasset.planning.progress import finished_since
from kasset.planning.steps import clamp_step_status

#: Key of the note that replaces step metadata too large for an Asset's lastMaterialization.
METADATA_NOTE_KEY = "kasset.dev/note"
#: Bytes kept free for the note that the Succeeded condition gets when steps were trimmed.
TRIM_NOTE_RESERVE = 256


def assemble_status(
    run: Run,
    *,
    graph: StepGraph,
    statuses: Mapping[str, StepStatus],
    prior: Mapping[str, StepStatus],
    now: datetime,
    settings: PlanSettings,
) -> tuple[RunStatus, bool, tuple[PlanEvent, ...]]:
    """The Run's new status (bounded in size), whether it finished, and the Events for state changes."""
    ordered = [statuses[node.name] for node in graph.steps]
    room = settings.max_steps - len(ordered)
    ordered += [old for name, old in prior.items() if name not in statuses and old.state in TERMINAL_STATES][:room]
    total, succeeded = len(ordered), sum(1 for s in ordered if s.state == "Succeeded")
    failed = [s for s in ordered if s.state == "Failed"]
    running = sum(1 for s in ordered if s.state == "Running")
    finished = all(s.state in TERMINAL_STATES for s in ordered)
    events = [
        PlanEvent("Warning", "StepFailed", f"Step {s.name} failed: {s.message}")
        for s in failed
        if prior.get(s.name) is None or prior[s.name].state != "Failed"
    ]
    first = graph.find(failed[0].name) if failed else None
    if finished and not failed:
        outcome, reason, message = "True", "Succeeded", f"{succeeded}/{total} steps succeeded"
    elif finished and first is not None and first.check is not None:
        outcome, reason, message = "False", "CheckFailed", describe_blocking_failure(first, failed[0])
    elif finished:
        outcome, reason, message = "False", "StepFailed", f"step {failed[0].name} failed: {failed[0].message}"
    elif failed:
        outcome, reason, message = "Unknown", "Failing", f"step {failed[0].name} failed; {running} still running"
    else:
        outcome, reason, message = "Unknown", "Running", f"{running} running, {succeeded}/{total} succeeded"
    if finished:
        kind, event_reason = ("Warning", "RunFailed") if failed else ("Normal", "RunSucceeded")
        events.append(PlanEvent(kind, event_reason, message))
    status = with_outcome(run, outcome, reason, message, now=now).model_copy(
        update={
            "steps": ordered,
            "progress": f"{succeeded}/{total}",
            "start_time": run.status.start_time or now,
            "completion_time": now if finished else None,
        }
    )
    needed = find_needed_steps(graph, statuses)
    status, trimmed = bound_run_status(status, needed=needed, max_bytes=MAX_RUN_STATUS_BYTES - TRIM_NOTE_RESERVE)
    if trimmed is not None:
        note = f"(status over {MAX_RUN_STATUS_BYTES} bytes: dropped {trimmed})"
        message = f"{truncate_message(message, MESSAGE_MAX_LENGTH - len(note) - 1)} {note}"
        status = with_outcome(run.model_copy(update={"status": status}), outcome, reason, message, now=now)
    return status, finished, tuple(events)


def find_needed_steps(graph: StepGraph, statuses: Mapping[str, StepStatus]) -> frozenset[str]:
    """Steps whose results an unfinished step still reads: dependencies (and fan-out sources) of steps that
    are not in a terminal state."""
    return frozenset(
        dep
        for node in graph.steps
        if node.name in statuses and statuses[node.name].state not in TERMINAL_STATES
        for dep in (*node.depends_on, *((node.fan_out_from,) if node.fan_out_from else ()))
    )


def bound_run_status(
    status: RunStatus, *, needed: frozenset[str] = frozenset(), max_bytes: int = MAX_RUN_STATUS_BYTES
) -> tuple[RunStatus, str | None]:
    """`status` with every step within its field limits and, when the whole is over `max_bytes` as JSON, with
    step details dropped stage by stage (TRIM_STAGES) until it fits; also the last stage applied, or None.

    `needed` names the steps whose results unfinished steps read; their details are dropped last. Names and
    states are never dropped: 500 steps of 253-character names fit in about 160 KiB.
    """
    steps = [clamp_step_status(step) for step in status.steps]
    bounded = status.model_copy(update={"steps": steps})
    trimmed = None
    for description, trim in TRIM_STAGES:
        if json_size(to_manifest(bounded)) <= max_bytes:
            break
        steps = [trim(step, step.name in needed) for step in steps]
        bounded, trimmed = status.model_copy(update={"steps": steps}), description
    return bounded, trimmed


def _without(step: StepStatus, *fields: str) -> StepStatus:
    if all(getattr(step, name) is None for name in fields):
        return step
    return step.model_copy(update=dict.fromkeys(fields))


def _drop_metadata(step: StepStatus, needed: bool) -> StepStatus:
    return _without(step, "metadata")


def _drop_quiet_messages(step: StepStatus, needed: bool) -> StepStatus:
    return step if step.state == "Failed" else _without(step, "message")


def _drop_repeated_asset(step: StepStatus, needed: bool) -> StepStatus:
    # observe_step restores `asset` from the step graph on the next reconcile
    return _without(step, "asset") if step.asset == step.name else step


def _drop_finished_details(step: StepStatus, needed: bool) -> StepStatus:
    return _without(step, "job_name", "start_time", "completion_time") if step.state in TERMINAL_STATES else step


def _drop_unread_results(step: StepStatus, needed: bool) -> StepStatus:
    return step if needed else _without(step, "items", "result_ref", "data_version")


def _drop_items(step: StepStatus, needed: bool) -> StepStatus:
    return _without(step, "items")


def _drop_read_results(step: StepStatus, needed: bool) -> StepStatus:
    # dataVersions stay: the lineage of downstream asset steps in this Run records them.
    return _without(step, "result_ref")


def _drop_messages(step: StepStatus, needed: bool) -> StepStatus:
    return _without(step, "message")


def _drop_running_details(step: StepStatus, needed: bool) -> StepStatus:
    return _without(step, "job_name", "start_time")


#: (what is dropped, how), least useful first.
TRIM_STAGES: tuple[tuple[str, Callable[[StepStatus, bool], StepStatus]], ...] = (
    ("step metadata", _drop_metadata),
    ("messages of steps that did not fail", _drop_quiet_messages),
    ("asset names repeating step names", _drop_repeated_asset),
    ("job names and times of finished steps", _drop_finished_details),
    ("results no unfinished step reads", _drop_unread_results),
    ("inline items", _drop_items),
    ("resultRefs unfinished steps read", _drop_read_results),
    ("failure messages of steps", _drop_messages),
    ("job names and start times of running steps", _drop_running_details),
)


def record_materializations(
    run: Run,
    *,
    graph: StepGraph,
    statuses: Mapping[str, StepStatus],
    prior: Mapping[str, StepStatus],
    assets: Mapping[str, Asset],
    observed: Mapping[str, ObservedJob],
    now: datetime,
    partitioned: frozenset[str] = frozenset(),
) -> tuple[MaterializationUpdate, ...]:
    """lastMaterialization records for asset steps that succeeded since the previous status. A `partitioned`
    asset's materializations go to its partition records instead (its Asset reconciler derives
    lastMaterialization from them: one writer per Asset, however many Runs materialize its partitions)."""
    updates = []
    for node, step in finished_since(graph, statuses, prior, states=frozenset({"Succeeded"})):
        if node.asset is None or node.asset in partitioned:
            continue
        job = observed.get(step.job_name or "")
        metadata = job.result.metadata if job is not None and job.result is not None else {}
        record = build_materialization(
            assets[node.asset], run_name=run.metadata.name, partition=run.spec.partition, step=step,
            statuses=statuses, assets=assets, metadata=bound_metadata(metadata), now=now,
        )
        updates.append(MaterializationUpdate(asset=node.asset, materialization=record))
    return tuple(updates)


def bound_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """`metadata` when it fits lastMaterialization (MAX_MATERIALIZATION_METADATA_BYTES as JSON), else a note."""
    size = json_size(metadata)
    if size <= MAX_MATERIALIZATION_METADATA_BYTES:
        return dict(metadata)
    note = f"metadata of {size} bytes as JSON not kept (limit {MAX_MATERIALIZATION_METADATA_BYTES})"
    return {METADATA_NOTE_KEY: note}


def with_outcome(run: Run, status: ConditionStatus, reason: str, message: str, *, now: datetime) -> RunStatus:
    conditions = set_condition(
        run.status.conditions, type=SUCCEEDED, status=status, reason=reason, message=message,
        now=now, generation=run.metadata.generation,
    )
    return run.status.model_copy(update={"conditions": conditions, "observed_generation": run.metadata.generation})
