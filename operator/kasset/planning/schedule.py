"""Plan one Schedule, pure: given its Runs and `now`, which Run to create for the due tick (at most one), which
Runs to delete (Replace, history limits), its status, Events, and when to look again.

The cursor is `status.lastTickTime` (the Schedule's creation before its first tick). The due tick is the latest
tick in (cursor, now]; every earlier one was missed and is not run, so a Schedule that was down for a week runs
once, never a flood. The due tick is then:
- missed, past `startingDeadlineSeconds` → skipped (Warning MissedSchedule);
- Forbid with an unfinished Run → skipped (Normal SkippedTick);
- otherwise run: Replace first deletes the unfinished Runs. The Run's name is `<schedule>-<tick in Unix
  seconds>` (hashed when long) and its runKey names the Schedule's uid and the tick, so a tick creates one Run
  across retries and restarts (a 409 is "already created").
`suspend` holds the cursor: when lifted, the latest tick since is due (within the deadline), as for CronJob.

Does not: read the cluster, compute ticks (see `ticks`), or render templates itself (see `templates`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from kasset.api.conditions import find_condition, set_condition
from kasset.api.contract import ANNOTATION_SCHEDULE_TICK, LABEL_SCHEDULE, LABEL_TRIGGER, READY, SUCCEEDED
from kasset.api.job import Job
from kasset.api.partitions import PartitionsDefinition
from kasset.api.run import Run, Trigger
from kasset.api.schedule import MAX_ACTIVE_LISTED, Schedule, ScheduleStatus
from kasset.planning.catalog import AssetCatalog
from kasset.planning.dag import Problem
from kasset.planning.graph import select_assets
from kasset.planning.history import select_runs_to_prune
from kasset.planning.model import PlanEvent, RunRequest, rendered_run_spec, warn_when_false
from kasset.planning.names import derived_run_name, sanitize_label_value
from kasset.planning.partitions import PartitionError, PartitionSpace
from kasset.planning.run import is_run_finished
from kasset.planning.runpartitions import definition_key
from kasset.planning.templates import TemplateError, render, render_params
from kasset.planning.ticks import latest_tick, next_tick

#: Longest Run name (a DNS label, as step Job names derive from it).
RUN_NAME_MAX = 63


@dataclass(frozen=True)
class SchedulePlan:
    """Create `creates` (409: already created), delete `deletes`, write `status`, emit `events`, and look
    again after `requeue_after` seconds (the next tick)."""

    status: ScheduleStatus
    creates: tuple[RunRequest, ...] = ()
    deletes: tuple[str, ...] = ()
    events: tuple[PlanEvent, ...] = ()
    requeue_after: float | None = None


@dataclass
class _Tick:
    """What handling the due tick decided: status fields to update, Runs to create and delete, Events."""

    updates: dict = field(default_factory=dict)
    creates: list[RunRequest] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    events: list[PlanEvent] = field(default_factory=list)


def schedule_of(run: Run) -> str | None:
    """The Schedule that created `run` (its label), if any."""
    return run.metadata.labels.get(LABEL_SCHEDULE)


def tick_data(schedule: Schedule, tick: datetime) -> dict:
    """What templates see of a tick: `tick.*` and `schedule.name`."""
    local = tick.astimezone(ZoneInfo(schedule.spec.time_zone))
    return {"tick": {"time": tick.strftime("%Y-%m-%dT%H:%M:%SZ"), "localTime": local.isoformat(),
                     "date": local.date().isoformat(), "timestamp": int(tick.timestamp())},
            "schedule": {"name": schedule.metadata.name}}


def default_partition(definition: PartitionsDefinition | None, tick: datetime) -> str | None | Problem:
    """The partition a tick runs when spec.partition is omitted: none for unpartitioned assets, the window of a
    single time dimension that closed last at the tick; a Problem for any other definition."""
    if definition is None:
        return None
    if len(definition.dimensions) != 1 or definition.dimensions[0].time_window is None:
        return Problem("NoPartition", "the assets' spec.partitions is not one time-window dimension: set "
                       "spec.partition (a template such as '{{ tick.date }}|eu')")
    try:
        keys = PartitionSpace.from_definition(definition, now=tick).keys()
    except PartitionError as exc:
        return Problem("InvalidSpec", f"the assets' spec.partitions: {exc}")
    if not keys:
        return Problem("NoPartition", f"no time window of the assets has closed by the tick {tick:%Y-%m-%dT%H:%M:%SZ}")
    return keys[-1]


def resolve_partitions(schedule: Schedule, *, job: Job | None, assets: AssetCatalog,
                       job_problem: str | None = None) -> PartitionsDefinition | None | Problem:
    """The partitions definition the target's assets share (None when none is partitioned), or why the target
    does not resolve: JobNotFound, InvalidSpec (the Job is invalid, or the assets' partitions differ), or the
    selection's own problem (AssetNotFound...)."""
    selection = schedule.spec.selection
    if selection is None:
        name = schedule.spec.job_ref.name
        if job_problem is not None:
            return Problem("InvalidSpec", f"spec.jobRef: Job {name} is invalid: {job_problem}")
        if job is None:
            return Problem("JobNotFound", f"spec.jobRef: Job {name} not found", transient=True)
        if job.spec.selection is None:
            return None  # explicit steps: no partitions
        selection = job.spec.selection
    chosen = select_assets(selection, assets)
    if isinstance(chosen, Problem):
        return chosen
    definitions = {definition_key(d): d for name in sorted(chosen) if (d := assets[name].spec.partitions)}
    if len(definitions) > 1:
        return Problem("InvalidSpec", "the selected assets have different spec.partitions: a Schedule's Run "
                       "materializes one partition")
    return next(iter(definitions.values()), None)


def plan_schedule(schedule: Schedule, *, runs: Sequence[Run], now: datetime,
                  definition: PartitionsDefinition | None | Problem = None) -> SchedulePlan:
    """The plan at `now`. `runs`: the Runs labelled with the Schedule; `definition`: the partitions of the
    target assets (None: unpartitioned; a Problem when the target does not resolve)."""
    spec, zone = schedule.spec, ZoneInfo(schedule.spec.time_zone)
    cursor = schedule.status.last_tick_time or schedule.metadata.creation_timestamp or now
    active = sorted((r for r in runs if not is_run_finished(r)), key=lambda r: r.metadata.name)
    tick = _Tick()
    due = None if spec.suspend else latest_tick(spec.schedule, zone, at_or_before=now, after=cursor)
    problem = definition if isinstance(definition, Problem) else None
    if due is not None and problem is None:
        problem = _handle_tick(schedule, tick, due=due, now=now, active=active, runs=runs,
                               definition=None if isinstance(definition, Problem) else definition)
    following = None if spec.suspend else next_tick(spec.schedule, zone, after=max(now, cursor))
    deletes = set(tick.deletes)
    finished = [r for r in runs if is_run_finished(r) and r.metadata.name not in deletes]
    tick.deletes += select_runs_to_prune(finished, successful_limit=spec.successful_runs_history_limit,
                                        failed_limit=spec.failed_runs_history_limit)
    status = _status(schedule, tick, runs=runs, following=following, problem=problem, now=now)
    requeue = None if following is None else max(0.0, (following - now).total_seconds())
    return SchedulePlan(status=status, creates=tuple(tick.creates), deletes=tuple(dict.fromkeys(tick.deletes)),
                        events=tuple(tick.events) + warn_when_false(schedule.status.conditions, status.conditions,
                                                                    READY),
                        requeue_after=requeue)


def _handle_tick(schedule: Schedule, tick: _Tick, *, due: datetime, now: datetime, active: list[Run],
                 runs: Sequence[Run], definition: PartitionsDefinition | None) -> Problem | None:
    spec, when = schedule.spec, due.strftime("%Y-%m-%dT%H:%M:%SZ")
    own = schedule_run_name(schedule.metadata.name, due)
    if any(run.metadata.name == own for run in runs):  # created before the status write that records it was lost
        _record_run(tick, due, schedule.status)
        return None
    late = (now - due).total_seconds()
    if spec.starting_deadline_seconds is not None and late > spec.starting_deadline_seconds:
        _skip(tick, due, schedule.status, "Warning", "MissedSchedule",
              f"the tick {when} was missed by {late:.0f}s, past startingDeadlineSeconds "
              f"({spec.starting_deadline_seconds})")
        return None
    if active and spec.concurrency_policy == "Forbid":
        _skip(tick, due, schedule.status, "Normal", "SkippedTick",
              f"skipped the tick {when}: Run {active[0].metadata.name} is unfinished (concurrencyPolicy Forbid)")
        return None
    request = build_run_request(schedule, due, definition=definition)
    if isinstance(request, Problem):
        return request
    if spec.concurrency_policy == "Replace":
        tick.deletes += [run.metadata.name for run in active]
        if active:
            tick.events.append(PlanEvent("Normal", "ReplacedRuns", f"deleted unfinished Runs "
                                         f"{', '.join(r.metadata.name for r in active)} (concurrencyPolicy Replace)"))
    tick.creates.append(request)
    _record_run(tick, due, schedule.status)
    tick.events.append(PlanEvent("Normal", "CreatedRun", f"created Run {request.name} for the tick {when}"))
    return None


def _record_run(tick: _Tick, due: datetime, status: ScheduleStatus) -> None:
    tick.updates |= {"last_tick_time": due, "last_schedule_time": due, "runs": status.runs + 1}


def _skip(tick: _Tick, due: datetime, status: ScheduleStatus, type_: str, reason: str, message: str) -> None:
    tick.updates |= {"last_tick_time": due, "skipped": status.skipped + 1}
    tick.events.append(PlanEvent(type_, reason, message))


def build_run_request(schedule: Schedule, due: datetime, *,
                      definition: PartitionsDefinition | None) -> RunRequest | Problem:
    """The Run of tick `due`: the Schedule's target, its params and partition rendered over the tick."""
    spec, name = schedule.spec, schedule.metadata.name
    data = tick_data(schedule, due)
    try:
        partition = (render(spec.partition, data, field="spec.partition") if spec.partition is not None
                     else default_partition(definition, due))
        if isinstance(partition, Problem):
            return partition
        params = render_params(spec.params, data | {"partition": partition}, field="spec.params")
        run_spec = rendered_run_spec(job_ref=spec.job_ref, selection=spec.selection, params=params,
                                     partition=None if partition is None else str(partition),
                                     trigger=Trigger(type="Schedule", source=f"Schedule/{name}"),
                                     run_key=f"schedule/{schedule.metadata.uid or name}/{due:%Y-%m-%dT%H:%M:%SZ}")
    except TemplateError as exc:
        return Problem("InvalidTemplate", str(exc))
    return RunRequest(name=schedule_run_name(name, due), spec=run_spec,
                      labels={LABEL_SCHEDULE: sanitize_label_value(name), LABEL_TRIGGER: "schedule"},
                      annotations={ANNOTATION_SCHEDULE_TICK: due.strftime("%Y-%m-%dT%H:%M:%SZ")})


def schedule_run_name(schedule: str, tick: datetime) -> str:
    """`<schedule>-<tick in Unix seconds>`, or a hashed name when that is too long for a DNS label."""
    name = f"{schedule}-{int(tick.timestamp())}"
    return name if len(name) <= RUN_NAME_MAX else derived_run_name(schedule, name)


def _status(schedule: Schedule, tick: _Tick, *, runs: Sequence[Run], following: datetime | None,
            problem: Problem | None, now: datetime) -> ScheduleStatus:
    created = {r.name for r in tick.creates}
    active = sorted({r.metadata.name for r in runs if not is_run_finished(r)} - set(tick.deletes) | created)
    completed = [r.status.completion_time for r in runs if _succeeded(r) and r.status.completion_time]
    last_success = max([t for t in (schedule.status.last_successful_time, *completed) if t], default=None)
    if problem is not None:
        reason, message = problem.reason, problem.message
    elif schedule.spec.suspend:
        reason, message = "Suspended", "spec.suspend is true: no tick runs"
    else:
        reason = "Scheduled"
        message = f"next tick {following:%Y-%m-%dT%H:%M:%SZ}" if following else "the schedule never fires again"
        if len(active) > MAX_ACTIVE_LISTED:
            message += f"; {len(active)} Runs unfinished ({MAX_ACTIVE_LISTED} listed)"
    conditions = set_condition(schedule.status.conditions, type=READY, status="False" if problem else "True",
                               reason=reason, message=message, now=now, generation=schedule.metadata.generation)
    return schedule.status.model_copy(update=tick.updates | {
        "observed_generation": schedule.metadata.generation, "next_schedule_time": following,
        "active": active[:MAX_ACTIVE_LISTED], "active_count": len(active), "last_successful_time": last_success,
        "conditions": conditions})


def _succeeded(run: Run) -> bool:
    outcome = find_condition(run.status.conditions, SUCCEEDED)
    return outcome is not None and outcome.status == "True"
