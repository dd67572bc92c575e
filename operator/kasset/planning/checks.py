"""Asset checks in a Run: one step per declared check after its asset's step, the outcome of each, what a
failed blocking check does to the Run, and the Asset's `status.checks` with its `ChecksPassed` condition.

- Graph (built by `graph.add_check_nodes`): asset A with check C gets the step `A-check-C`, depending on A.
  Every step of the Run that depends on A also depends on A's *blocking* checks, so it waits for them; when
  one fails, it is Skipped with the check's message (fail fast, as after any failed step) and the Run fails
  with reason CheckFailed.
- Contract: the asset step's (KASSET_ASSET, KASSET_PARTITION and window, KASSET_PARAMS), KASSET_STEP being the
  check's step and KASSET_OUTPUT_URI the asset's output in this Run, which the check reads; KASSET_INPUTS is
  empty (a check looks at what the asset wrote, not at what it read). Its Job is labelled kasset.dev/check.
- Outcome: a check reports `{"passed": bool, "message", "metadata"}`; a container that fails is a failed
  check. A failed blocking check is a Failed step; a failed non-blocking check is a Succeeded step whose
  message says the check failed (nothing stops, the Run does not fail), and both are recorded on the Asset.
- Asset status: one result per declared check (its latest: the later-started wins; the same Run and
  partition again is a no-op), ChecksPassed True / False (naming the failed checks and their messages) /
  Unknown while some never ran. Results of checks no longer declared are dropped.

Does not: run checks or write status (the Run and Asset reconcilers do).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from kasset.api.asset import Asset, AssetStatus
from kasset.api.base import json_size, truncate_message
from kasset.api.checks import CHECK_MESSAGE_MAX_LENGTH, MAX_CHECK_METADATA_BYTES, CheckResult
from kasset.api.conditions import set_condition
from kasset.api.contract import CHECKS_PASSED
from kasset.api.run import StepStatus
from kasset.planning.progress import finished_since

if TYPE_CHECKING:
    from kasset.planning.graph import StepNode

METADATA_NOTE_KEY = "kasset.dev/note"


def check_step_name(asset: str, check: str) -> str:
    return f"{asset}-check-{check}"


def settle_check(node: StepNode, step: StepStatus, *, passed: bool, message: str | None) -> StepStatus:
    """The final status of check step `node` from its outcome."""
    said = truncate_message(message, 200) if message else None
    if passed:
        return step.model_copy(update={"state": "Succeeded", "message": said})
    if node.blocking:
        return step.model_copy(update={"state": "Failed", "message": said or "check failed"})
    note = f"check failed (not blocking): {said}" if said else "check failed (not blocking)"
    return step.model_copy(update={"state": "Succeeded", "message": truncate_message(note, 256)})


def describe_blocking_failure(node: StepNode, step: StepStatus) -> str:
    """How a failed blocking check is told in the steps it skips and in the Run's condition."""
    return f"blocking check {node.check} of asset {node.check_of} failed: {step.message}"


@dataclass(frozen=True)
class CheckResultUpdate:
    """Record `result` in the status.checks of Asset `asset`."""

    asset: str
    result: CheckResult


def build_check_result(
    node: StepNode, step: StepStatus, *, run: str, partition: str | None, passed: bool, message: str | None,
    metadata: Mapping, now: datetime,
) -> CheckResultUpdate:
    size = json_size(metadata)
    kept = dict(metadata) if size <= MAX_CHECK_METADATA_BYTES else {
        METADATA_NOTE_KEY: f"metadata of {size} bytes not kept (limit {MAX_CHECK_METADATA_BYTES})"}
    result = CheckResult(
        name=node.check, outcome="Passed" if passed else "Failed",
        message=truncate_message(message, CHECK_MESSAGE_MAX_LENGTH), metadata=kept, run=run,
        partition=partition, time=step.completion_time or now, start_time=step.start_time,
    )
    return CheckResultUpdate(asset=node.check_of, result=result)


def plan_check_results(
    run, *, graph, statuses: Mapping[str, StepStatus], prior: Mapping[str, StepStatus], observed: Mapping,
    partitions, now: datetime,
) -> tuple[CheckResultUpdate, ...]:
    """The results of the check steps that finished since the previous status, for their Assets."""
    updates = []
    for node, step in finished_since(graph, statuses, prior):
        if node.check is None:
            continue
        job = observed.get(step.job_name or "")
        result = job.result if job is not None else None
        container_failed = job is None or job.is_failed
        passed = not container_failed and (result is None or result.passed is not False)
        message = step.message if container_failed else (result.message if result is not None else None)
        updates.append(build_check_result(
            node, step, run=run.metadata.name, partition=partitions.label_of(node.check_of), passed=passed,
            message=message, metadata=result.metadata if result is not None else {}, now=now))
    return tuple(updates)


def apply_check_result(asset: Asset, result: CheckResult, *, now: datetime) -> AssetStatus | None:
    """The Asset's status with `result` recorded and ChecksPassed recomputed, or None when it must not be
    recorded (the same Run's result again, a newer one held, or the check is not declared any more)."""
    if result.name not in {check.name for check in asset.spec.checks}:
        return None
    held = next((r for r in asset.status.checks if r.name == result.name), None)
    if held is not None and not _newer(result, than=held):
        return None
    results = [r for r in asset.status.checks if r.name != result.name] + [result]
    status = asset.status.model_copy(update={"checks": sorted(results, key=lambda r: r.name)})
    return with_checks_passed(asset, status, now=now)


def _newer(result: CheckResult, *, than: CheckResult) -> bool:
    """Whether `result` replaces the held one: another Run or partition, started later (ties: by Run name)."""
    if (than.run, than.partition) == (result.run, result.partition):
        return False
    return (result.start_time or result.time, result.run) > (than.start_time or than.time, than.run)


def with_checks_passed(asset: Asset, status: AssetStatus, *, now: datetime) -> AssetStatus:
    """`status` with the results of undeclared checks dropped and ChecksPassed summing up the others (no
    condition when the asset declares no check)."""
    declared = [check.name for check in asset.spec.checks]
    results = {r.name: r for r in status.checks if r.name in declared}
    conditions = [c for c in status.conditions if c.type != CHECKS_PASSED] if not declared else status.conditions
    if declared:
        failed = [results[name] for name in declared if name in results and results[name].outcome == "Failed"]
        missing = [name for name in declared if name not in results]
        if failed:
            said = "; ".join(f"check {r.name} failed: {r.message or 'no message'}" for r in failed)
            state, reason, message = "False", "CheckFailed", said
        elif missing:
            state, reason, message = "Unknown", "NotRun", f"not run yet: {', '.join(missing)}"
        else:
            state, reason, message = "True", "ChecksPassed", f"{len(declared)} checks passed"
        conditions = set_condition(conditions, type=CHECKS_PASSED, status=state, reason=reason,
                                   message=truncate_message(message, 1024), now=now,
                                   generation=asset.metadata.generation)
    return status.model_copy(update={"checks": [results[n] for n in sorted(results)], "conditions": conditions})
