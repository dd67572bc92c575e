"""plan_backfill: Run names, batching, the concurrency bound, suspend, rerunFailed, cancelling unstarted Runs,
status counts and failed ranges; resolve_backfill_targets: partitions of the selected assets, batches, and
the InvalidSpec reasons."""

from __future__ import annotations

import random

import pytest

from kasset.api import Backfill, find_condition
from kasset.api.backfill import MAX_FAILED_RANGES
from kasset.api.run import Run
from kasset.planning.backfill import (
    backfill_run_name,
    backfill_of,
    is_backfill_finished,
    parse_run_key,
    plan_backfill,
    select_unstarted_runs,
)
from kasset.planning.backfilltargets import BackfillTargets, resolve_backfill_targets
from kasset.planning.dag import Problem

from kasset_factories import NAMESPACE, T0, at, created, finished, index, make_asset, make_job

DAYS = tuple(f"2021-05-{d:02d}" for d in range(1, 32))


def make_backfill(name: str = "daily-may", *, generation: int = 1, status: dict | None = None, **spec) -> Backfill:
    spec.setdefault("jobRef", {"name": "daily"})
    spec.setdefault("partitions", {"from": "2021-05-01", "to": "2021-06-01"})
    body = {"metadata": {"name": name, "namespace": NAMESPACE, "uid": f"uid-{name}", "generation": generation},
            "spec": spec}
    return Backfill.model_validate(body | ({"status": status} if status else {}))


def daily(keys=DAYS) -> BackfillTargets:
    return BackfillTargets(batches=tuple((key,) for key in keys), ordered_keys=tuple(keys))


def started(run: Run) -> Run:
    return run.model_copy(update={"status": Run.model_validate({"spec": {}, "status": {"startTime": T0}}).status})


def complete(status):
    return find_condition(status.conditions, "Complete")


def advance(backfill: Backfill, runs: list[Run], targets=None, **kwargs):
    """Plan, and return the Backfill with the planned status, every Run (old and created) and the plan."""
    plan = plan_backfill(backfill, targets=targets or daily(), runs=runs, now=kwargs.pop("now", T0), **kwargs)
    return backfill.model_copy(update={"status": plan.status}), runs + created(plan), plan


# -- names -------------------------------------------------------------------------------------------------

def test_runs_are_named_backfill_dash_batch_index_and_reruns_add_r_attempt():
    assert backfill_run_name("daily-may", 0) == "daily-may-0"
    assert backfill_run_name("daily-may", 30) == "daily-may-30"
    assert backfill_run_name("daily-may", 3, 2) == "daily-may-3-r2"


def test_a_long_backfill_name_is_cut_to_a_63_character_run_name_with_a_hash_that_tells_names_apart():
    a, b = "x" * 70 + "-a", "x" * 70 + "-b"
    names = {backfill_run_name(a, 1234, 12), backfill_run_name(b, 1234, 12)}
    assert len(names) == 2
    assert all(len(name) <= 63 and name.endswith("-1234-r12") for name in names)


def test_first_reconcile_creates_max_concurrent_runs_for_the_first_batches_in_key_order():
    backfill, runs, plan = advance(make_backfill(maxConcurrentRuns=3), [])
    assert [r.name for r in plan.creates] == ["daily-may-0", "daily-may-1", "daily-may-2"]
    assert [r.spec.partition for r in plan.creates] == list(DAYS[:3])
    status = backfill.status
    assert (status.requested, status.running, status.pending, status.runs) == (31, 3, 28, 3)
    assert complete(status).status == "Unknown" and complete(status).reason == "Running"
    assert status.progress == "0/31" and status.start_time == T0


def test_a_run_of_a_batch_carries_target_params_partition_trigger_run_key_label_and_annotations():
    backfill = make_backfill(params={"mode": "full"})
    (request, *_rest) = plan_backfill(backfill, targets=daily(), runs=[], now=T0).creates
    spec = request.spec
    assert spec.job_ref.name == "daily" and spec.selection is None and spec.params == {"mode": "full"}
    assert spec.partition == "2021-05-01" and spec.partition_range is None
    assert (spec.trigger.type, spec.trigger.source) == ("Backfill", "Backfill/daily-may")
    assert spec.run_key == "backfill/uid-daily-may/0/0"
    assert request.labels["kasset.dev/backfill"] == "daily-may"
    assert request.annotations == {"kasset.dev/backfill-partitions": "2021-05-01", "kasset.dev/backfill-rerun": "0"}


def test_a_batch_of_several_keys_runs_as_a_partition_range_from_its_first_to_its_last_key():
    targets = BackfillTargets(batches=(DAYS[:7], DAYS[7:14]), ordered_keys=DAYS)
    plan = plan_backfill(make_backfill(), targets=targets, runs=[], now=T0)
    first = plan.creates[0]
    assert first.spec.partition is None
    assert (first.spec.partition_range.start, first.spec.partition_range.end) == ("2021-05-01", "2021-05-07")
    assert first.annotations["kasset.dev/backfill-partitions"] == "2021-05-01...2021-05-07"
    assert plan.status.requested == 14 and plan.status.running == 14


def test_a_finished_run_frees_its_slot_for_the_next_batch_and_nothing_else_starts():
    backfill, runs, _ = advance(make_backfill(maxConcurrentRuns=2), [])
    runs[0] = finished(runs[0])
    backfill, runs, plan = advance(backfill, runs)
    assert [r.name for r in plan.creates] == ["daily-may-2"]
    assert (plan.status.succeeded, plan.status.running, plan.status.pending) == (1, 2, 28)
    assert plan.status.progress == "1/31"


@pytest.mark.parametrize("limit", [1, 4, 31, 50])
def test_a_whole_backfill_creates_one_run_per_partition_and_never_more_than_the_limit_unfinished(limit):
    rng = random.Random(limit)
    backfill, runs = make_backfill(maxConcurrentRuns=limit), []
    for tick in range(500):
        backfill, runs, _plan = advance(backfill, runs, now=at(tick))
        unfinished = [i for i, r in enumerate(runs) if not r.status.conditions]
        assert len(unfinished) <= limit
        if not unfinished:
            break
        for i in rng.sample(unfinished, rng.randint(1, len(unfinished))):
            runs[i] = finished(runs[i])
    assert sorted(r.metadata.name for r in runs) == sorted(backfill_run_name("daily-may", i) for i in range(31))
    assert complete(backfill.status).status == "True" and complete(backfill.status).reason == "Succeeded"
    assert backfill.status.completion_time is not None and backfill.status.runs == 31


def test_runs_that_exist_are_never_created_again_after_a_restart():
    backfill, runs, _ = advance(make_backfill(maxConcurrentRuns=4), [])
    fresh = make_backfill(maxConcurrentRuns=4)  # a restarted operator: no status, the Runs from its cache
    plan = plan_backfill(fresh, targets=daily(), runs=runs, now=T0)
    assert plan.creates == ()
    assert plan.status.running == 4 and plan.status.runs == 4


def test_a_suspended_backfill_creates_nothing_and_says_so():
    backfill, runs, _ = advance(make_backfill(maxConcurrentRuns=2), [])
    suspended = make_backfill(maxConcurrentRuns=2, suspend=True, status=backfill.status.model_dump(by_alias=True))
    runs = [finished(run) for run in runs]
    plan = plan_backfill(suspended, targets=daily(), runs=runs, now=T0)
    assert plan.creates == ()
    assert complete(plan.status).reason == "Suspended" and complete(plan.status).status == "Unknown"
    assert (plan.status.succeeded, plan.status.pending) == (2, 29)


def test_all_finished_with_failures_is_complete_false_naming_the_failed_ranges_with_a_warning_event():
    keys = DAYS[:6]
    backfill, runs, _ = advance(make_backfill(maxConcurrentRuns=6), [], targets=daily(keys))
    runs = [finished(run, "False" if i in (1, 2, 4) else "True") for i, run in enumerate(runs)]
    backfill, runs, plan = advance(backfill, runs, targets=daily(keys), now=at(60))
    status = plan.status
    assert (status.requested, status.succeeded, status.failed, status.running, status.pending) == (6, 3, 3, 0, 0)
    assert [(r.start, r.end, r.count) for r in status.failed_partitions] == [
        ("2021-05-02", "2021-05-03", 2), ("2021-05-05", "2021-05-05", 1)]
    outcome = complete(status)
    assert (outcome.status, outcome.reason) == ("False", "PartitionsFailed")
    assert "3 of 6" in outcome.message and "2021-05-02...2021-05-03, 2021-05-05" in outcome.message
    assert [(e.type, e.reason) for e in plan.events] == [("Warning", "PartitionsFailed")]
    assert status.completion_time == at(60) and is_backfill_finished(backfill)


def test_raising_rerun_failed_gives_each_failed_partition_one_new_run_per_raise():
    keys = DAYS[:4]
    backfill, runs, _ = advance(make_backfill(maxConcurrentRuns=4), [], targets=daily(keys))
    runs = [finished(run, "False" if i in (0, 2) else "True") for i, run in enumerate(runs)]
    backfill, runs, plan = advance(backfill, runs, targets=daily(keys))
    assert plan.creates == () and plan.status.failed == 2

    raised = make_backfill(maxConcurrentRuns=4, rerunFailed=1, generation=2,
                           status=backfill.status.model_dump(by_alias=True))
    raised, runs, plan = advance(raised, runs, targets=daily(keys))
    assert [r.name for r in plan.creates] == ["daily-may-0-r1", "daily-may-2-r1"]
    assert [r.spec.run_key for r in plan.creates] == ["backfill/uid-daily-may/0/1", "backfill/uid-daily-may/2/1"]
    assert (plan.status.failed, plan.status.running, plan.status.failed_partitions) == (0, 2, [])
    assert complete(plan.status).status == "Unknown" and plan.status.completion_time is None

    runs = [finished(run, "False") if run.metadata.name.endswith("-r1") else run for run in runs]
    raised, runs, plan = advance(raised, runs, targets=daily(keys))
    assert plan.creates == () and plan.status.failed == 2  # failed again: no more until the next raise
    assert complete(plan.status).reason == "PartitionsFailed"


def test_a_rerun_waits_for_a_slot_and_counts_as_pending():
    keys = DAYS[:3]
    backfill, runs, _ = advance(make_backfill(maxConcurrentRuns=1), [], targets=daily(keys))
    runs = [finished(runs[0], "False")]
    raised = make_backfill(maxConcurrentRuns=1, rerunFailed=1, generation=2)
    plan = plan_backfill(raised, targets=daily(keys), runs=runs, now=T0)
    assert [r.name for r in plan.creates] == ["daily-may-0-r1"]  # key order: the rerun of batch 0 first
    assert (plan.status.running, plan.status.pending, plan.status.failed) == (1, 2, 0)


def test_a_run_name_taken_by_another_object_moves_on_to_the_next_attempt():
    plan = plan_backfill(make_backfill(maxConcurrentRuns=1), targets=daily(), runs=[], now=T0,
                         name_taken=lambda name: name in {"daily-may-0", "daily-may-0-r1"})
    assert [(r.name, r.spec.run_key) for r in plan.creates] == [("daily-may-0-r2", "backfill/uid-daily-may/0/2")]


def test_runs_of_an_earlier_backfill_of_the_same_name_do_not_count_and_the_unstarted_ones_are_deleted():
    earlier = make_backfill().model_copy(update={"metadata": make_backfill().metadata.model_copy(
        update={"uid": "uid-earlier"})})
    _, old_runs, _ = advance(earlier, [])
    old_runs = [finished(old_runs[0]), started(old_runs[1]), *old_runs[2:]]
    plan = plan_backfill(make_backfill(), targets=daily(), runs=old_runs, now=T0,
                         name_taken=lambda name: name in {r.metadata.name for r in old_runs})
    assert plan.deletes == ("daily-may-2", "daily-may-3")
    assert plan.status.runs == 4 and plan.status.succeeded == 0
    assert [r.name for r in plan.creates] == ["daily-may-0-r1", "daily-may-1-r1", "daily-may-2-r1", "daily-may-3-r1"]


def test_deleting_a_backfill_cancels_its_unstarted_runs_and_lets_started_and_finished_ones_be():
    _, runs, _ = advance(make_backfill(maxConcurrentRuns=4), [])
    runs = [finished(runs[0]), started(runs[1]), finished(runs[2], "False"), runs[3]]
    queued = finished(runs[3], "Unknown", started=False)  # Queued under the Job's maxConcurrentRuns
    assert select_unstarted_runs(runs) == ["daily-may-3"]
    assert select_unstarted_runs([queued]) == ["daily-may-3"]


def test_an_unresolved_target_is_complete_false_invalid_spec_and_creates_nothing():
    plan = plan_backfill(make_backfill(), targets=Problem("InvalidSpec", "spec.jobRef: Job daily not found"),
                         runs=[], now=T0)
    assert plan.creates == ()
    outcome = complete(plan.status)
    assert (outcome.status, outcome.reason, outcome.message) == ("False", "InvalidSpec",
                                                                 "spec.jobRef: Job daily not found")
    assert [(e.type, e.reason) for e in plan.events] == [("Warning", "InvalidSpec")]


def test_failed_ranges_in_status_are_bounded():
    keys = tuple(f"k{i:04d}" for i in range(2 * MAX_FAILED_RANGES + 10))
    backfill, runs, _ = advance(make_backfill(maxConcurrentRuns=1000), [], targets=daily(keys))
    runs = [finished(run, "False" if i % 2 == 0 else "True") for i, run in enumerate(runs)]
    plan = plan_backfill(backfill, targets=daily(keys), runs=runs, now=T0)
    assert plan.status.failed == MAX_FAILED_RANGES + 5
    assert len(plan.status.failed_partitions) == MAX_FAILED_RANGES
    assert "and 100 more ranges" in complete(plan.status).message


def test_a_backfill_run_is_known_by_its_trigger_and_run_key():
    (request, *_rest) = plan_backfill(make_backfill(), targets=daily(), runs=[], now=T0).creates
    (run, *_rest) = created(plan_backfill(make_backfill(), targets=daily(), runs=[], now=T0))
    assert backfill_of(run) == "daily-may" and parse_run_key(run) == ("uid-daily-may", 0, 0)


# -- targets -----------------------------------------------------------------------------------------------

DAILY = {"dimensions": [{"name": "day", "timeWindow": {"cadence": "Daily", "start": "2021-01-01"}}]}
NOW = at(0)  # 2026: every window of 2021 has ended


def daily_assets(*, policy: dict | None = None, **extra) -> dict:
    definition = DAILY | ({"backfillPolicy": policy} if policy else {})
    return index(make_asset("events", partitions=definition), make_asset("totals", "events", partitions=definition),
                 *extra.values())


def resolve(backfill, *, assets=None, job=None):
    job = job if job is not None else make_job("daily", selection={"assets": ["events", "totals"]})
    return resolve_backfill_targets(backfill, job=job, assets=assets or daily_assets(), now=NOW)


def test_a_month_of_a_daily_asset_is_one_batch_per_day_in_order():
    targets = resolve(make_backfill())
    assert targets.batches == tuple((day,) for day in DAYS)


def test_multi_run_policy_cuts_the_month_into_batches_of_at_most_max_partitions_per_run():
    targets = resolve(make_backfill(), assets=daily_assets(policy={"type": "MultiRun", "maxPartitionsPerRun": 7}))
    assert [len(batch) for batch in targets.batches] == [7, 7, 7, 7, 3]
    assert targets.batches[0] == DAYS[:7]


def test_single_run_policy_makes_one_batch_of_consecutive_keys_and_splits_at_gaps():
    assets = daily_assets(policy={"type": "SingleRun"})
    assert [len(b) for b in resolve(make_backfill(), assets=assets).batches] == [31]
    keys = make_backfill(partitions={"keys": ["2021-05-03", "2021-05-01", "2021-05-02", "2021-05-09"]})
    assert resolve(keys, assets=assets).batches == (("2021-05-01", "2021-05-02", "2021-05-03"), ("2021-05-09",))


def test_a_job_not_created_yet_is_a_transient_problem_the_backfill_waits_for():
    found = resolve_backfill_targets(make_backfill(), job=None, assets=daily_assets(), now=NOW)
    assert isinstance(found, Problem) and found.transient and found.reason == "JobNotFound"
    assert "Job daily not found" in found.message
    outcome = complete(plan_backfill(make_backfill(), targets=found, runs=[], now=T0).status)
    assert (outcome.status, outcome.reason) == ("Unknown", "Pending")


def test_a_backfill_of_its_own_selection_needs_no_job():
    backfill = make_backfill(jobRef=None, selection={"assets": ["events"]},
                             partitions={"keys": ["2021-05-02", "2021-05-01"]})
    targets = resolve_backfill_targets(backfill, job=None, assets=daily_assets(), now=NOW)
    assert targets.batches == (("2021-05-01",), ("2021-05-02",))


@pytest.mark.parametrize(("backfill", "job", "assets", "words"), [
    (make_backfill(), make_job("daily", steps=[{"name": "s", "container": {"image": "x"}}]), None,
     "selects no assets"),
    (make_backfill(), None, index(make_asset("events"), make_asset("totals", "events", partitions=DAILY)),
     "assets events are not partitioned"),
    (make_backfill(), None, index(make_asset("events", partitions=DAILY), make_asset("totals", "events", partitions={
        "dimensions": [{"name": "day", "timeWindow": {"cadence": "Daily", "start": "2021-02-01"}}]})),
     "different spec.partitions (events; totals)"),
    (make_backfill(partitions={"keys": ["2021-05-01", "May 2nd"]}), None, None, "spec.partitions.keys"),
    (make_backfill(partitions={"from": "2020-01-01", "to": "2020-02-01"}), None, None, "no partition starts"),
    (make_backfill(), None, index(make_asset("events", partitions={"dimensions": [
        {"name": "region", "static": {"keys": ["eu", "us"]}}]}), make_asset("totals", "events", partitions={
            "dimensions": [{"name": "region", "static": {"keys": ["eu", "us"]}}]})), "no timeWindow"),
], ids=["job-without-assets", "unpartitioned", "different-definitions", "invalid-key",
        "empty-range", "range-without-time-window"])
def test_a_target_that_does_not_resolve_is_invalid_spec_naming_the_problem(backfill, job, assets, words):
    if job is None:
        job = make_job("daily", selection={"assets": ["events", "totals"]})
    found = resolve_backfill_targets(backfill, job=job, assets=assets or daily_assets(), now=NOW)
    assert isinstance(found, Problem) and found.reason == "InvalidSpec"
    assert words in found.message, found.message
