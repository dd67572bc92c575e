"""The Schedule kind (`schedules.kasset.dev`): a Job or an asset selection run on a cron schedule, in CronJob's
vocabulary (DESIGN §2).

`schedule` is cron (five fields, an optional sixth for seconds, or a macro such as `@daily`) read in `timeZone`;
each tick creates one Run named after the tick, so a tick never runs twice. `params` and `partition` are
templates over the tick (see `kasset.planning.templates`). status holds the last tick handled, the next one,
the active Runs (bounded) and the Ready condition.

Does not: compute ticks or decide anything (see `kasset.planning.schedule`).
"""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import Field, field_validator, model_validator

from kasset.api.base import API_VERSION, KassetModel, ObjectMeta, ObjectName, Timestamp
from kasset.api.common import AssetSelection
from kasset.api.conditions import Condition
from kasset.api.run import JobRef

ConcurrencyPolicy = Literal["Allow", "Forbid", "Replace"]
#: Most Run names `status.active` lists; the Ready condition's message counts the rest.
MAX_ACTIVE_LISTED = 50


def check_cron(expression: str) -> str:
    """`expression` when croniter reads it (5 fields, 6 with seconds last, or a macro); ValueError otherwise."""
    if not croniter.is_valid(expression):
        raise ValueError(f"spec.schedule: {expression!r} is not a cron expression (5 fields such as '0 6 * * *', "
                         "a sixth for seconds, or a macro such as @daily)")
    return expression


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # `Europe` is a folder of the tz database: IsADirectoryError
        raise ValueError(f"spec.timeZone: {name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return name


class ScheduleSpec(KassetModel):
    """When to run what, and what to do when ticks are missed or Runs overlap."""

    schedule: str = Field(
        description="Cron expression read in timeZone: five fields (minute hour day month weekday), an optional "
        "sixth for seconds, or a macro (@yearly, @monthly, @weekly, @daily, @hourly).",
        min_length=1,
        max_length=256,
    )
    time_zone: str = Field(
        default="Etc/UTC",
        description="IANA time zone of the schedule. A tick in an hour that DST skips runs once, at the first "
        "instant after the gap; a tick in an hour that DST repeats runs once, in the first pass.",
        min_length=1,
        max_length=64,
    )
    job_ref: JobRef | None = Field(default=None, description="The Job to run; exactly one of jobRef and selection.")
    selection: AssetSelection | None = Field(
        default=None, description="The assets to materialize; exactly one of jobRef and selection."
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Params of every Run. String values are templates over the tick: {{ tick.time }} (RFC 3339, "
        "UTC), {{ tick.localTime }}, {{ tick.date }} (local), {{ tick.timestamp }}, {{ schedule.name }}, "
        "{{ partition }}.",
    )
    partition: str | None = Field(
        default=None,
        description="The partition each Run materializes, as a template (e.g. '{{ tick.date }}|eu'). Omitted, a "
        "Run over assets with one time-window dimension takes the window that closed last at the tick.",
        max_length=256,
    )
    concurrency_policy: ConcurrencyPolicy = Field(
        default="Allow",
        description="When a tick comes while a Run of the Schedule is unfinished: Allow (run both), Forbid "
        "(skip the tick), Replace (delete the unfinished Runs, then run).",
    )
    starting_deadline_seconds: int | None = Field(
        default=None,
        description="A tick not started within this many seconds (the operator was down, or Forbid held it) is "
        "skipped. After downtime only the latest missed tick may run: never more than one catch-up Run.",
        ge=0,
    )
    suspend: bool = Field(default=False, description="While true no tick runs; unfinished Runs go on.")
    successful_runs_history_limit: int = Field(
        default=3, description="Succeeded Runs of the Schedule to keep; older ones are deleted.", ge=0, le=1000
    )
    failed_runs_history_limit: int = Field(
        default=1, description="Failed Runs of the Schedule to keep; older ones are deleted.", ge=0, le=1000
    )

    @field_validator("schedule")
    @classmethod
    def cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("time_zone")
    @classmethod
    def zone(cls, value: str) -> str:
        return check_time_zone(value)

    @model_validator(mode="after")
    def one_target(self) -> ScheduleSpec:
        if (self.job_ref is None) == (self.selection is None):
            raise ValueError("exactly one of jobRef and selection must be set")
        return self


class ScheduleStatus(KassetModel):
    """What the operator observed: the ticks handled and the Runs they created."""

    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this status was computed from.", ge=0
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready: True while ticks run (reason Scheduled) or are suspended (Suspended); False when the "
        "spec or its target does not resolve (InvalidSpec, JobNotFound, InvalidTemplate, NoPartition).",
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    last_schedule_time: Timestamp | None = Field(default=None, description="The tick of the latest Run created.")
    last_tick_time: Timestamp | None = Field(
        default=None, description="The latest tick handled: run, skipped (Forbid) or missed (past the deadline)."
    )
    next_schedule_time: Timestamp | None = Field(default=None, description="The next tick (unset while suspended).")
    last_successful_time: Timestamp | None = Field(
        default=None, description="When the latest Run of the Schedule that succeeded completed."
    )
    active: list[ObjectName] = Field(
        default_factory=list,
        description=f"Unfinished Runs of the Schedule (at most {MAX_ACTIVE_LISTED} listed).",
        max_length=MAX_ACTIVE_LISTED,
    )
    active_count: int = Field(default=0, description="Unfinished Runs of the Schedule, all counted.", ge=0)
    runs: int = Field(default=0, description="Runs the Schedule created.", ge=0)
    skipped: int = Field(default=0, description="Ticks skipped (Forbid, or past startingDeadlineSeconds).", ge=0)


class Schedule(KassetModel):
    """A Job or asset selection run on a cron schedule in a time zone."""

    api_version: Literal["kasset.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["Schedule"] = "Schedule"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ScheduleSpec
    status: ScheduleStatus = Field(default_factory=ScheduleStatus)
