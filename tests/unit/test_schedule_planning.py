"""Planning a Schedule with an injected clock: one Run per tick, named after it; at most one catch-up Run after
downtime, none past the deadline; Forbid and Replace; history limits; partitions and templated params; status,
conditions and Events."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kasset.api import find_condition
from kasset.api.partitions import PartitionsDefinition
from kasset.api.schedule import Schedule
from kasset.planning.dag import Problem
from kasset.planning.schedule import plan_schedule, resolve_partitions, schedule_run_name
from kasset_factories import NAMESPACE, created, finished, index, make_asset, make_job

UTC = timezone.utc
CREATED = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
DAILY = PartitionsDefinition.model_validate({"dimensions": [{"name": "day", "timeWindow": {
    "cadence": "Daily", "start": "2025-12-01"}}]})


def make_schedule(*, status: dict | None = None, **spec) -> Schedule:
    spec.setdefault("schedule", "@hourly")
    spec.setdefault("jobRef", {"name": "pipeline"})
    body = {"metadata": {"name": "nightly", "namespace": NAMESPACE, "uid": "uid-nightly", "generation": 1,
                         "creationTimestamp": CREATED}, "spec": spec}
    return Schedule.model_validate(body | ({"status": status} if status else {}))


def hour(n: float) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n)


def advance(schedule: Schedule, runs: list, now: datetime, **kwargs):
    plan = plan_schedule(schedule, runs=runs, now=now, **kwargs)
    return schedule.model_copy(update={"status": plan.status}), runs + created(plan), plan


def test_nothing_runs_before_the_first_tick_and_the_next_one_is_requeued_to_the_second():
    plan = plan_schedule(make_schedule(), runs=[], now=hour(0.5))
    assert plan.creates == ()
    assert plan.status.next_schedule_time == hour(1)
    assert plan.requeue_after == 1800
    ready = find_condition(plan.status.conditions, "Ready")
    assert (ready.status, ready.reason, ready.message) == ("True", "Scheduled", "next tick 2026-01-01T01:00:00Z")


def test_a_tick_creates_one_run_named_after_it_with_the_trigger_run_key_and_labels():
    plan = plan_schedule(make_schedule(), runs=[], now=hour(1) + timedelta(milliseconds=20))
    (request,) = plan.creates
    assert request.name == f"nightly-{int(hour(1).timestamp())}" == schedule_run_name("nightly", hour(1))
    assert request.spec.job_ref.name == "pipeline"
    assert (request.spec.trigger.type, request.spec.trigger.source) == ("Schedule", "Schedule/nightly")
    assert request.spec.run_key == "schedule/uid-nightly/2026-01-01T01:00:00Z"
    assert request.labels == {"kasset.dev/schedule": "nightly", "kasset.dev/trigger": "schedule"}
    assert plan.status.last_schedule_time == plan.status.last_tick_time == hour(1)
    assert plan.status.active == [request.name] and plan.status.active_count == 1
    assert [e.reason for e in plan.events] == ["CreatedRun"]


def test_planning_the_same_tick_again_creates_nothing_more():
    schedule, runs, _ = advance(make_schedule(), [], hour(1))
    _, _, again = advance(schedule, runs, hour(1) + timedelta(seconds=1))
    assert again.creates == ()


def test_a_run_created_before_its_status_write_was_lost_is_found_not_created_again():
    _, runs, _ = advance(make_schedule(), [], hour(1))  # status not written: the cursor did not move
    plan = plan_schedule(make_schedule(concurrencyPolicy="Replace"), runs=runs, now=hour(1) + timedelta(seconds=2))
    assert plan.creates == () and plan.deletes == ()
    assert plan.status.last_schedule_time == hour(1) and plan.status.runs == 1


def test_after_downtime_only_the_latest_missed_tick_runs_never_a_flood():
    schedule, runs, _ = advance(make_schedule(), [], hour(1))
    plan = plan_schedule(schedule, runs=runs, now=hour(30.5))  # 29 ticks missed
    assert [r.name for r in plan.creates] == [schedule_run_name("nightly", hour(30))]


def test_a_tick_missed_past_the_starting_deadline_is_skipped_with_a_warning():
    schedule, runs, _ = advance(make_schedule(startingDeadlineSeconds=300), [], hour(1))
    plan = plan_schedule(schedule, runs=runs, now=hour(30) + timedelta(seconds=301))
    assert plan.creates == ()
    assert plan.status.last_tick_time == hour(30) and plan.status.skipped == 1
    (event,) = plan.events
    assert (event.type, event.reason) == ("Warning", "MissedSchedule")
    assert "missed by 301s, past startingDeadlineSeconds (300)" in event.message
    within = plan_schedule(schedule, runs=runs, now=hour(30) + timedelta(seconds=299))
    assert len(within.creates) == 1


def test_forbid_skips_the_tick_while_a_run_is_unfinished_and_runs_the_next_once_it_finished():
    schedule, runs, _ = advance(make_schedule(concurrencyPolicy="Forbid"), [], hour(1))
    schedule, runs, plan = advance(schedule, runs, hour(2))
    assert plan.creates == () and plan.status.skipped == 1
    assert plan.events[0].reason == "SkippedTick" and runs[0].metadata.name in plan.events[0].message
    runs = [finished(runs[0])]
    _, _, plan = advance(schedule, runs, hour(3))
    assert [r.name for r in plan.creates] == [schedule_run_name("nightly", hour(3))]


def test_replace_deletes_the_unfinished_runs_then_creates_the_new_one():
    schedule, runs, _ = advance(make_schedule(concurrencyPolicy="Replace"), [], hour(1))
    _, _, plan = advance(schedule, runs, hour(2))
    assert plan.deletes == (runs[0].metadata.name,)
    assert [r.name for r in plan.creates] == [schedule_run_name("nightly", hour(2))]
    assert plan.status.active == [schedule_run_name("nightly", hour(2))]
    assert [e.reason for e in plan.events] == ["ReplacedRuns", "CreatedRun"]


def test_allow_runs_overlapping_ticks():
    schedule, runs, _ = advance(make_schedule(), [], hour(1))
    _, runs, plan = advance(schedule, runs, hour(2))
    assert len(plan.creates) == 1 and plan.status.active_count == 2


def test_suspend_holds_the_cursor_and_on_resume_the_latest_tick_runs_once():
    schedule, runs, _ = advance(make_schedule(), [], hour(1))
    suspended = schedule.model_copy(update={"spec": schedule.spec.model_copy(update={"suspend": True})})
    plan = plan_schedule(suspended, runs=runs, now=hour(5))
    assert plan.creates == () and plan.status.next_schedule_time is None and plan.requeue_after is None
    assert find_condition(plan.status.conditions, "Ready").reason == "Suspended"
    plan = plan_schedule(schedule, runs=runs, now=hour(5.5))
    assert [r.name for r in plan.creates] == [schedule_run_name("nightly", hour(5))]


def test_history_limits_delete_the_oldest_finished_runs_and_keep_unfinished_ones():
    schedule = make_schedule(successfulRunsHistoryLimit=1, failedRunsHistoryLimit=1)
    runs = []
    for n in range(1, 6):
        schedule, runs, _ = advance(schedule, runs, hour(n))
    runs = [finished(runs[0], "True", completed=hour(1.5)), finished(runs[1], "True", completed=hour(2.5)),
            finished(runs[2], "False", completed=hour(3.5)), finished(runs[3], "False", completed=hour(4.5)), runs[4]]
    plan = plan_schedule(schedule, runs=runs, now=hour(5.1))
    assert sorted(plan.deletes) == sorted([runs[0].metadata.name, runs[2].metadata.name])
    assert plan.status.last_successful_time == hour(2.5)
    assert plan.status.active == [runs[4].metadata.name]


def test_params_and_partition_are_rendered_from_the_tick_in_its_time_zone():
    schedule = make_schedule(schedule="0 6 * * *", timeZone="Europe/Berlin", partition="{{ tick.date }}|eu",
                             params={"day": "{{ tick.date }}", "at": "{{ tick.time }}", "part": "{{ partition }}",
                                     "ts": "{{ tick.timestamp }}", "fixed": 3})
    plan = plan_schedule(schedule, runs=[], now=datetime(2026, 1, 1, 5, 0, 1, tzinfo=UTC))
    (request,) = plan.creates
    assert request.spec.partition == "2026-01-01|eu"
    assert request.spec.params == {"day": "2026-01-01", "at": "2026-01-01T05:00:00Z", "part": "2026-01-01|eu",
                                   "ts": 1767243600, "fixed": 3}


def test_a_daily_partitioned_target_runs_the_window_that_just_closed():
    plan = plan_schedule(make_schedule(schedule="5 0 * * *"), runs=[], now=hour(24 + 0.1), definition=DAILY)
    assert plan.creates[0].spec.partition == "2026-01-01"


def test_a_bad_template_is_a_false_ready_condition_naming_the_field_and_the_tick_waits():
    schedule = make_schedule(params={"key": "{{ tick.dat }}"})
    plan = plan_schedule(schedule, runs=[], now=hour(1))
    assert plan.creates == () and plan.status.last_tick_time is None
    ready = find_condition(plan.status.conditions, "Ready")
    assert (ready.status, ready.reason) == ("False", "InvalidTemplate")
    assert ready.message.startswith("spec.params.key: {{ tick.dat }}: tick has no key 'dat'")
    assert [(e.type, e.reason) for e in plan.events] == [("Warning", "InvalidTemplate")]


def test_a_target_that_does_not_resolve_is_a_false_ready_condition():
    plan = plan_schedule(make_schedule(), runs=[], now=hour(1), definition=Problem("JobNotFound", "spec.jobRef: "
                                                                                    "Job pipeline not found"))
    assert plan.creates == ()
    assert find_condition(plan.status.conditions, "Ready").reason == "JobNotFound"


def test_resolve_partitions_reads_the_jobs_assets_and_refuses_mixed_definitions():
    daily = DAILY.model_dump(by_alias=True, exclude_none=True)
    assets = index(make_asset("a", partitions=daily), make_asset("b", "a", partitions=daily), make_asset("c"))
    job = make_job(selection={"assets": ["a", "b"]})
    assert resolve_partitions(make_schedule(), job=job, assets=assets) == DAILY
    assert resolve_partitions(make_schedule(), job=None, assets=assets).reason == "JobNotFound"
    mixed = make_schedule(jobRef=None, selection={"assets": ["a", "c"]})
    assert resolve_partitions(mixed, job=None, assets=assets) == DAILY  # unpartitioned c runs unpartitioned
    other = dict(daily, dimensions=[{"name": "day", "timeWindow": {"cadence": "Hourly", "start": "2025-12-01"}}])
    assets = index(make_asset("a", partitions=daily), make_asset("h", partitions=other))
    both = make_schedule(jobRef=None, selection={"assets": ["a", "h"]})
    assert resolve_partitions(both, job=None, assets=assets).reason == "InvalidSpec"


@pytest.mark.parametrize("spec, message", [
    ({"schedule": "61 * * * *"}, "spec.schedule: '61 * * * *' is not a cron expression"),
    ({"timeZone": "Mars/Olympus"}, "spec.timeZone: 'Mars/Olympus' is not an IANA time zone"),
    ({"timeZone": "Europe"}, "spec.timeZone: 'Europe' is not an IANA time zone"),  # a folder: IsADirectoryError
    ({"timeZone": "../../../etc/passwd"}, "is not an IANA time zone"),
    ({"selection": {"assets": ["a"]}}, "exactly one of jobRef and selection"),
])
def test_the_model_refuses_a_bad_spec_naming_the_field(spec, message):
    with pytest.raises(ValueError, match=message.replace("*", r"\*").replace("(", r"\(")):
        make_schedule(**spec)
