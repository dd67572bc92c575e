"""Assemble a Run's status from its steps' statuses, and the materializations its asset steps produced.

Does not: decide step states (see `steps`) or launches (see `run`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from kasset.api.asset import Asset
from kasset.api.conditions import ConditionStatus, set_condition
from kasset.api.run import TERMINAL_STATES, Run, RunStatus, StepStatus
from kasset.planning.graph import StepGraph
from kasset.planning.lineage import build_materialization
from kasset.planning.model import MaterializationUpdate, ObservedJob, PlanEvent
from kasset.planning.settings import PlanSettings

SUCCEEDED = "Succeeded"


def assemble_status(
    run: Run,
    *,
    graph: StepGraph,
    statuses: Mapping[str, StepStatus],
    prior: Mapping[str, StepStatus],
    now: datetime,
    settings: PlanSettings,
) -> tuple[RunStatus, bool, tuple[PlanEvent, ...]]:
    """The Run's new status, whether it finished, and the Events for state changes."""
    ordered = [statuses[node.name] for node in graph.steps]
    room = settings.max_steps - len(ordered)
    ordered += [old for name, old in prior.items() if name not in statuses and old.state in TERMINAL_STATES][:room]
    total, succeeded = len(ordered), sum(1 for s in ordered if s.state == "Succeeded")
    failed = [s for s in ordered if s.state == "Failed"]
    running = sum(1 for s in ordered if s.state == "Running")
    finished = all(s.state in TERMINAL_STATES for s in ordered)
    events = [
        PlanEvent("Normal", "StepSucceeded", f"Step {s.name} succeeded") if s.state == "Succeeded"
        else PlanEvent("Warning", "StepFailed", f"Step {s.name} failed: {s.message}")
        for s in ordered
        if s.state in ("Succeeded", "Failed") and (prior.get(s.name) is None or prior[s.name].state != s.state)
    ]
    if finished and not failed:
        outcome, reason, message = "True", "Succeeded", f"{succeeded}/{total} steps succeeded"
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
    return status, finished, tuple(events)


def record_materializations(
    run: Run,
    *,
    graph: StepGraph,
    statuses: Mapping[str, StepStatus],
    prior: Mapping[str, StepStatus],
    assets: Mapping[str, Asset],
    observed: Mapping[str, ObservedJob],
    now: datetime,
) -> tuple[MaterializationUpdate, ...]:
    """lastMaterialization records for asset steps that succeeded since the previous status."""
    updates = []
    for node in graph.steps:
        step = statuses[node.name]
        was = prior.get(node.name)
        if node.asset is None or step.state != "Succeeded" or (was is not None and was.state == "Succeeded"):
            continue
        job = observed.get(step.job_name or "")
        metadata = job.result.metadata if job is not None and job.result is not None else {}
        record = build_materialization(
            assets[node.asset], run_name=run.metadata.name, partition=run.spec.partition, step=step,
            statuses=statuses, assets=assets, metadata=metadata, now=now,
        )
        updates.append(MaterializationUpdate(asset=node.asset, materialization=record))
    return tuple(updates)


def with_outcome(run: Run, status: ConditionStatus, reason: str, message: str, *, now: datetime) -> RunStatus:
    conditions = set_condition(
        run.status.conditions, type=SUCCEEDED, status=status, reason=reason, message=message,
        now=now, generation=run.metadata.generation,
    )
    return run.status.model_copy(update={"conditions": conditions, "observed_generation": run.metadata.generation})
