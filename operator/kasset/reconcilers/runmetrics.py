"""Count a Run's transitions in the metrics, from the status the reconciler replaced and the one it wrote.

Called once per successful status write, so each transition (Run started or finished, step Job created, step
finished) counts exactly once per operator process: a conflict rereads and writes again from the fresher status,
and a write that changes nothing is not made.

Does not: decide anything or write anything to the API.
"""

from __future__ import annotations

from datetime import datetime

from kasset.api.conditions import find_condition
from kasset.api.contract import SUCCEEDED
from kasset.api.run import Run, RunStatus, StepStatus
from kasset.metrics import Metrics

FINAL_STEP_STATES = {"Succeeded": "succeeded", "Failed": "failed", "Skipped": "skipped"}


def observe_run_transitions(metrics: Metrics, run: Run, before: RunStatus, after: RunStatus) -> None:
    old_steps = {s.name: s for s in before.steps}
    _observe_run(metrics, run, before, after)
    launched = [s for s in after.steps if s.start_time is not None
                and (old_steps.get(s.name) is None or old_steps[s.name].start_time is None)]
    if launched:
        _observe_launches(metrics, run, before, after, launched)
    for step in after.steps:
        old = old_steps.get(step.name)
        outcome = FINAL_STEP_STATES.get(step.state)
        if outcome is None or (old is not None and old.state == step.state):
            continue
        metrics.steps_finished.labels(outcome).inc()
        if step.start_time is not None and step.completion_time is not None:
            metrics.step_duration.labels(outcome).observe(_seconds(step.start_time, step.completion_time))


def _observe_run(metrics: Metrics, run: Run, before: RunStatus, after: RunStatus) -> None:
    if before.start_time is None and after.start_time is not None:
        trigger = run.spec.trigger.type if run.spec.trigger is not None else "Manual"
        metrics.runs_started.labels(trigger).inc()
    if _outcome(before) is None and (outcome := _outcome(after)) is not None:
        metrics.runs_finished.labels(outcome).inc()
        if after.start_time is not None and after.completion_time is not None:
            metrics.run_duration.labels(outcome).observe(_seconds(after.start_time, after.completion_time))


def _observe_launches(metrics: Metrics, run: Run, before: RunStatus, after: RunStatus,
                      launched: list[StepStatus]) -> None:
    metrics.steps_started.inc(len(launched))
    first = min(s.start_time for s in launched)
    if not any(s.start_time is not None for s in before.steps) and run.metadata.creation_timestamp is not None:
        metrics.launch_latency.observe(_seconds(run.metadata.creation_timestamp, first))
        return
    done = [s.completion_time for s in after.steps if s.completion_time is not None and s.completion_time <= first]
    if done:
        metrics.handoff_latency.observe(_seconds(max(done), first))


def _outcome(status: RunStatus) -> str | None:
    condition = find_condition(status.conditions, SUCCEEDED)
    if condition is None or condition.status == "Unknown":
        return None
    return "succeeded" if condition.status == "True" else "failed"


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())
