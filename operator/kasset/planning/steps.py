"""Decide the state of each step of a Run from its previous status and the observed step Job.

Retries are not decided here: a step's batch/v1 Job retries by itself (backoffLimit = retry.limit, per index
with backoffLimitPerIndex for fan-out) within its deadline (activeDeadlineSeconds = timeoutSeconds). The
planner only reads the Job's final `Complete` / `Failed` condition. Terminal states in status are sticky: a
step that finished stays finished even if its Job is later deleted.

Does not: choose launches or build the Run's conditions (see `run`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kasset.api.base import DATA_VERSION_MAX_LENGTH, RESULT_REF_MAX_LENGTH, json_size, truncate_message
from kasset.api.run import (
    MAX_INLINE_ITEMS,
    MAX_INLINE_ITEMS_BYTES,
    MAX_STEP_METADATA_BYTES,
    STEP_MESSAGE_MAX_LENGTH,
    TERMINAL_STATES,
    StepStatus,
)
from kasset.planning.checks import settle_check
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
        return prior.model_copy(update={"asset": node.asset})
    # `asset` is restored from the graph: a status trimmed to its size limit may have dropped it.
    base = (prior or StepStatus(name=node.name, state="Pending")).model_copy(update={"asset": node.asset})
    if observed is None:
        return base
    pods = observed.active_pods + observed.succeeded_pods + observed.failed_pods
    finished = observed.is_complete or observed.is_failed
    update = {
        "job_name": observed.name,
        # Counted when the step finishes, or while it retries: not on every pod start (a status write each).
        "attempts": max(base.attempts, pods) if finished or observed.failed_pods else base.attempts,
        "start_time": base.start_time or observed.start_time or now,
    }
    if node.check is not None and (observed.is_complete or observed.is_failed):
        return _check_outcome(node, base.model_copy(update=update), observed=observed, now=now)
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


def _check_outcome(node: StepNode, base: StepStatus, *, observed: ObservedJob, now: datetime) -> StepStatus:
    """A finished check step: passed unless it reported `passed: false` or its container failed."""
    result = observed.result or StepResult()
    finished = base.model_copy(update={"completion_time": observed.completion_time or now})
    if observed.is_failed:
        return settle_check(node, finished, passed=False, message=describe_failure(observed))
    return settle_check(node, finished, passed=result.passed is not False, message=result.message)


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
    metadata (an asset step's metadata belongs to the Asset's status). What does not fit the status's limits
    is left out and said so in the message."""
    result = observed.result or StepResult()
    notes = [f"result ignored: {result.error}"] if result.error else []
    items = select_inline_items(result.items, notes) if keep_items else None
    metadata = None
    if node.asset is None and result.metadata:
        size = json_size(result.metadata)
        if size <= MAX_STEP_METADATA_BYTES:
            metadata = dict(result.metadata)
        else:
            notes.append(f"metadata of {size} bytes not kept in status (limit {MAX_STEP_METADATA_BYTES})")
    result_ref = result.result_ref
    if result_ref is not None and len(result_ref) > RESULT_REF_MAX_LENGTH:
        notes.append(f"resultRef of {len(result_ref)} characters not kept (limit {RESULT_REF_MAX_LENGTH})")
        result_ref = None
    return base.model_copy(
        update={
            "state": "Succeeded",
            "completion_time": observed.completion_time or now,
            "data_version": bound_data_version(result.data_version or default_data_version),
            "item_count": observed.succeeded_pods if node.fan_out_from else result.item_count,
            "items": items,
            "result_ref": result_ref,
            "metadata": metadata,
            "message": truncate_message("; ".join(notes) or None, STEP_MESSAGE_MAX_LENGTH),
        }
    )


def select_inline_items(items: tuple[Any, ...] | None, notes: list[str]) -> list[Any] | None:
    """The reported items if they fit in status (MAX_INLINE_ITEMS items, MAX_INLINE_ITEMS_BYTES as JSON), else
    None with a note: such lists travel by resultRef."""
    if items is None:
        return None
    if len(items) > MAX_INLINE_ITEMS:
        notes.append(f"{len(items)} inline items exceed {MAX_INLINE_ITEMS}; report them by resultRef")
        return None
    size = json_size(items)
    if size > MAX_INLINE_ITEMS_BYTES:
        notes.append(f"inline items of {size} bytes exceed {MAX_INLINE_ITEMS_BYTES}; report them by resultRef")
        return None
    return list(items)


def bound_data_version(version: str) -> str:
    """`version`, or its SHA-256 (`sha256:<hex>`) when it takes more than DATA_VERSION_MAX_LENGTH bytes as JSON:
    equal versions stay equal, so staleness is still judged right."""
    if json_size(version) - 2 <= DATA_VERSION_MAX_LENGTH:
        return version
    return "sha256:" + hashlib.sha256(version.encode()).hexdigest()


def clamp_step_status(step: StepStatus) -> StepStatus:
    """`step` within every limit of StepStatus (status updates breaking the CRD's limits would be refused):
    the message cut, oversized metadata, items and resultRef dropped, a long dataVersion hashed."""
    update: dict[str, Any] = {}
    if step.message is not None and len(step.message) > STEP_MESSAGE_MAX_LENGTH:
        update["message"] = truncate_message(step.message, STEP_MESSAGE_MAX_LENGTH)
    if step.metadata is not None and json_size(step.metadata) > MAX_STEP_METADATA_BYTES:
        update["metadata"] = None
    if step.items is not None and select_inline_items(tuple(step.items), []) is None:
        update["items"] = None
    if step.result_ref is not None and len(step.result_ref) > RESULT_REF_MAX_LENGTH:
        update["result_ref"] = None
    if step.data_version is not None and bound_data_version(step.data_version) != step.data_version:
        update["data_version"] = bound_data_version(step.data_version)
    return step.model_copy(update=update) if update else step


def describe_failure(observed: ObservedJob) -> str:
    """The failure message for status: the step's own message first, then the Job's reason and attempts."""
    attempts = observed.failed_pods + observed.succeeded_pods + observed.active_pods
    facts = [observed.failure_reason or "Failed", f"{attempts} attempt{'s' if attempts != 1 else ''}"]
    if observed.failed_indexes:
        facts.append(f"failed indexes {observed.failed_indexes}")
    text = (observed.failure_message or "").strip()
    summary = f"({', '.join(facts)})"
    if not text:
        return truncate_message(summary, STEP_MESSAGE_MAX_LENGTH) or summary
    # The step's own words are cut, not the facts after them.
    room = max(STEP_MESSAGE_MAX_LENGTH - len(summary) - 1, 16)
    return truncate_message(f"{truncate_message(text, room)} {summary}", STEP_MESSAGE_MAX_LENGTH) or summary


def settle_pending(
    node: StepNode, step: StepStatus, statuses: Mapping[str, StepStatus], *, now: datetime,
    failures: Mapping[str, str] = {},
) -> tuple[StepStatus, bool]:
    """For a step not launched yet, return its status and whether it may start now.

    Skipped after a failed or skipped dependency; Pending while dependencies run; for fan-out steps,
    Succeeded without a Job when there are no items and Failed when the source reported none.
    """
    blocked = [dep for dep in node.depends_on if statuses[dep].state in ("Failed", "Skipped")]
    if blocked:
        state = statuses[blocked[0]].state.lower()
        why = failures.get(blocked[0]) or f"step {blocked[0]} {state}"
        return _finish(step, "Skipped", f"not started: {why}", now=now), False
    waiting = [dep for dep in node.depends_on if statuses[dep].state != "Succeeded"]
    if waiting:
        message = truncate_message("waiting for " + ", ".join(waiting[:5]), STEP_MESSAGE_MAX_LENGTH)
        return step.model_copy(update={"state": "Pending", "message": message}), False
    if node.fan_out_from is not None:
        source = statuses[node.fan_out_from]
        if source.item_count is None:
            return _finish(step, "Failed", f"fanOut.fromStep {source.name} reported no items", now=now), False
        if source.item_count == 0:
            empty = step.model_copy(update={"item_count": 0})
            return _finish(empty, "Succeeded", "no items to process", now=now), False
        if source.items is None and source.result_ref is None:
            message = (
                f"fanOut.fromStep {source.name}: its {source.item_count} items are neither inline in status nor at "
                "a resultRef (report large item lists by resultRef)"
            )
            return _finish(step, "Failed", message, now=now), False
    return step.model_copy(update={"state": "Pending", "message": None}), True


def _finish(step: StepStatus, state: str, message: str, *, now: datetime) -> StepStatus:
    message = truncate_message(message, STEP_MESSAGE_MAX_LENGTH)
    return step.model_copy(update={"state": state, "message": message, "completion_time": now})
