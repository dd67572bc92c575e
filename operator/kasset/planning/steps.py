"""Decide the state of each step of a Run from its previous status and the observed step Job.

Retries are not decided here: a step's batch/v1 Job retries by itself (backoffLimit = retry.limit, per index
with backoffLimitPerIndex for fan-out) within its deadline (activeDeadlineSeconds = timeoutSeconds). The
planner only reads the Job's final `Complete` / `Failed` condition. Terminal states in status are sticky: a
step that finished stays finished even if its Job is later deleted.

Does not: choose launches or build the Run's conditions (see `run`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from kasset.api.base import truncate_message
from kasset.api.run import MAX_INLINE_ITEMS, MAX_STEP_METADATA_BYTES, TERMINAL_STATES, StepStatus
from kasset.planning.graph import StepNode
from kasset.planning.model import ObservedJob
from kasset.planning.results import StepResult


def observe_step(
    node: StepNode,
    *,
    prior: StepStatus | None,
    observed: ObservedJob | None,
    default_data_version: str,
    keep_items: bool,
    now: datetime,
) -> StepStatus:
    """The step's status as far as its Job tells: terminal states from the Job's conditions, else Running,
    else the prior status (Pending, or Running while a just-created Job is not visible yet)."""
    if prior is not None and prior.state in TERMINAL_STATES:
        return prior
    base = prior or StepStatus(name=node.name, asset=node.asset, state="Pending")
    if observed is None:
        return base
    update = {
        "job_name": observed.name,
        "attempts": max(base.attempts, observed.active_pods + observed.succeeded_pods + observed.failed_pods),
        "start_time": base.start_time or observed.start_time or now,
    }
    if observed.is_complete:
        return record_success(
            node, base.model_copy(update=update), observed=observed,
            default_data_version=default_data_version, keep_items=keep_items, now=now,
        )
    if observed.is_failed:
        update |= {
            "state": "Failed",
            "message": describe_failure(observed),
            "completion_time": observed.completion_time or now,
        }
        return base.model_copy(update=update)
    return base.model_copy(update=update | {"state": "Running", "message": None})


def record_success(
    node: StepNode,
    base: StepStatus,
    *,
    observed: ObservedJob,
    default_data_version: str,
    keep_items: bool,
    now: datetime,
) -> StepStatus:
    """A Succeeded status carrying what downstream steps need from the result, and an explicit step's small
    metadata (an asset step's metadata belongs to the Asset's status)."""
    result = observed.result or StepResult()
    message = f"result ignored: {result.error}" if result.error else None
    items = None
    if keep_items and result.items is not None:
        if len(result.items) <= MAX_INLINE_ITEMS:
            items = list(result.items)
        else:
            message = f"{len(result.items)} inline items exceed {MAX_INLINE_ITEMS}; report them by resultRef"
    item_count = observed.succeeded_pods if node.fan_out_from else result.item_count
    metadata = None
    if node.asset is None and result.metadata:
        size = len(json.dumps(result.metadata, separators=(",", ":")))
        if size <= MAX_STEP_METADATA_BYTES:
            metadata = dict(result.metadata)
        else:
            message = f"metadata of {size} bytes not kept in status (limit {MAX_STEP_METADATA_BYTES})"
    return base.model_copy(
        update={
            "state": "Succeeded",
            "completion_time": observed.completion_time or now,
            "data_version": result.data_version or default_data_version,
            "item_count": item_count,
            "items": items,
            "result_ref": result.result_ref,
            "metadata": metadata,
            "message": truncate_message(message),
        }
    )


def describe_failure(observed: ObservedJob) -> str:
    """The failure message for status: the step's own message first, then the Job's reason and attempts."""
    attempts = observed.failed_pods + observed.succeeded_pods + observed.active_pods
    facts = [observed.failure_reason or "Failed", f"{attempts} attempt{'s' if attempts != 1 else ''}"]
    if observed.failed_indexes:
        facts.append(f"failed indexes {observed.failed_indexes}")
    text = (observed.failure_message or "").strip()
    summary = f"({', '.join(facts)})"
    return truncate_message(f"{text} {summary}" if text else summary) or summary


def settle_pending(
    node: StepNode, step: StepStatus, statuses: Mapping[str, StepStatus], *, now: datetime
) -> tuple[StepStatus, bool]:
    """For a step not launched yet, return its status and whether it may start now.

    Skipped after a failed or skipped dependency; Pending while dependencies run; for fan-out steps,
    Succeeded without a Job when there are no items and Failed when the source reported none.
    """
    blocked = [dep for dep in node.depends_on if statuses[dep].state in ("Failed", "Skipped")]
    if blocked:
        state = statuses[blocked[0]].state.lower()
        return _finish(step, "Skipped", f"not started: step {blocked[0]} {state}", now=now), False
    waiting = [dep for dep in node.depends_on if statuses[dep].state != "Succeeded"]
    if waiting:
        return step.model_copy(update={"state": "Pending", "message": "waiting for " + ", ".join(waiting[:5])}), False
    if node.fan_out_from is not None:
        source = statuses[node.fan_out_from]
        if source.item_count is None:
            return _finish(step, "Failed", f"fanOut.fromStep {source.name} reported no items", now=now), False
        if source.item_count == 0:
            empty = step.model_copy(update={"item_count": 0})
            return _finish(empty, "Succeeded", "no items to process", now=now), False
    return step.model_copy(update={"state": "Pending", "message": None}), True


def _finish(step: StepStatus, state: str, message: str, *, now: datetime) -> StepStatus:
    return step.model_copy(update={"state": state, "message": message, "completion_time": now})
