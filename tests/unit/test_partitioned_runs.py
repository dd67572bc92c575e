"""Runs over partitions, planned without a cluster: keys checked, windows and per-partition inputs in the
contract, exact records and lineage, merging records (newer wins, exactly once), staleness per partition,
Eager across partition spaces, and the slice a key goes to."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kasset.api import find_condition
from kasset.api.asset import LineageEntry
from kasset.api.partitionslice import PartitionRecord
from kasset.planning import plan_run
from kasset.planning.partitionautomation import plan_partition_eager_runs
from kasset.planning.partitionrecords import collapse_lineage, merge_record, slice_name
from kasset.planning.partitionstate import latest_materialization, summarize_asset, with_partition_summary
from kasset.planning.runpartitions import build_space

from kasset_factories import at, failed, index, make_asset, make_run, succeeded, with_status

NOW = datetime(2021, 7, 1, 12, tzinfo=timezone.utc)
DAILY = {"dimensions": [{"name": "day", "timeWindow": {"cadence": "Daily", "start": "2021-01-01",
                                                         "timeZone": "Europe/Berlin"}}]}
MONTHLY = {"dimensions": [{"name": "month", "timeWindow": {"cadence": "Monthly", "start": "2021-01-01",
                                                             "timeZone": "Europe/Berlin"}}]}
STORAGE = "file:///data/{asset}/{partition}"
MARCH = [f"2021-03-{day:02d}" for day in range(1, 32)]


def daily(name="events", *deps, **spec):
    spec.setdefault("partitions", DAILY)
    return make_asset(name, *deps, storage=STORAGE, **spec)


def monthly(name="report", upstream="events", **spec):
    deps = [{"asset": upstream, "partitionMapping": {"type": "TimeWindow"}}]
    return make_asset(name, partitions=MONTHLY, storage=STORAGE, deps=deps, **spec)


def records_from(held: dict[str, dict[str, PartitionRecord]]):
    return lambda asset: held.get(asset, {})


def materialized_record(key, run, version="v1", *, seconds=0, lineage=()):
    return PartitionRecord(partition=key, run=run, time=at(seconds), start_time=at(seconds), data_version=version,
                           lineage=list(lineage))


def outcome(plan):
    return find_condition(plan.status.conditions, "Succeeded")


def test_the_step_gets_the_key_and_its_window_in_the_zone_across_a_dst_change():
    run = make_run(job=None, selection={"assets": ["events"]}, partition="2021-03-28")
    plan = plan_run(run=run, job=None, assets=index(daily()), observed={}, now=NOW)
    (launch,) = plan.launches
    assert launch.contract.partition == "2021-03-28"
    assert launch.contract.window == ("2021-03-28T00:00:00+01:00", "2021-03-29T00:00:00+02:00")  # 23 hours
    assert launch.contract.output_uri == "file:///data/events/2021-03-28"


def test_a_key_the_definition_does_not_hold_fails_the_run_at_once_naming_the_dimension():
    for key in ("2021-02-30", "2020-12-31", "2021-07-01"):  # no such day; before start; window not ended
        run = make_run(job=None, selection={"assets": ["events"]}, partition=key)
        plan = plan_run(run=run, job=None, assets=index(daily()), observed={}, now=NOW)
        assert plan.finished and outcome(plan).reason == "InvalidPartition", key
        assert "dimension day" in outcome(plan).message and not plan.launches


def test_a_partitioned_asset_without_a_key_and_two_partition_spaces_in_one_run_are_refused():
    no_key = plan_run(run=make_run(job=None, selection={"assets": ["events"]}), job=None, assets=index(daily()),
                      observed={}, now=NOW)
    assert outcome(no_key).reason == "PartitionRequired"
    both = make_run(job=None, selection={"assets": ["events", "report"]}, partition="2021-03-01")
    mixed = plan_run(run=both, job=None, assets=index(daily(), monthly()), observed={}, now=NOW)
    assert outcome(mixed).reason == "InvalidPartition" and "different spec.partitions" in outcome(mixed).message


def test_a_monthly_step_reads_every_day_of_its_month_by_uri():
    run = make_run(job=None, selection={"assets": ["report"]}, partition="2021-03-01")
    plan = plan_run(run=run, job=None, assets=index(daily(), monthly()), observed={}, now=NOW)
    (launch,) = plan.launches
    listed = launch.contract.input_partitions["events"]
    assert list(listed) == MARCH and listed["2021-03-31"] == "file:///data/events/2021-03-31"
    assert launch.contract.inputs["events"] == "file:///data/events/{partition}"


def test_a_succeeded_monthly_step_records_each_day_it_read_with_its_run_and_version():
    held = {"events": {key: materialized_record(key, f"day-{key}", f"v-{key}") for key in MARCH}}
    run = make_run("march", job=None, selection={"assets": ["report"]}, partition="2021-03-01")
    first = plan_run(run=run, job=None, assets=index(daily(), monthly()), observed={}, now=NOW,
                     records=records_from(held))
    job = first.launches[0].job_name
    done = plan_run(run=with_status(run, first.status), job=None, assets=index(daily(), monthly()),
                    observed={job: succeeded(job)}, now=NOW + timedelta(seconds=5), records=records_from(held))
    (update,) = done.partition_records
    assert update.asset == "report" and update.record.partition == "2021-03-01"
    assert [(e.partition, e.run, e.data_version) for e in update.record.lineage] == [
        (key, f"day-{key}", f"v-{key}") for key in MARCH
    ]
    assert done.materializations == ()  # the Asset's reconciler derives lastMaterialization from its records
    assets = index(daily(), monthly())
    last = latest_materialization(assets["report"], records=records_from({"report": {"2021-03-01": update.record}}))
    (entry,) = last.lineage
    assert (last.run, last.partition) == ("march", "2021-03-01")
    assert (entry.partition, entry.partition_count, entry.run) == ("2021-03-01...2021-03-31", 31, None)


def test_a_failed_partition_step_records_the_failure_on_its_partition():
    run = make_run("bad", job=None, selection={"assets": ["events"]}, partition="2021-03-02")
    first = plan_run(run=run, job=None, assets=index(daily()), observed={}, now=NOW)
    job = first.launches[0].job_name
    done = plan_run(run=with_status(run, first.status), job=None, assets=index(daily()),
                    observed={job: failed(job, message="disk full")}, now=NOW)
    (update,) = done.partition_records
    assert (update.record.failed_run, update.record.run) == ("bad", None)
    assert "disk full" in update.record.failure_message


def test_a_range_needs_a_policy_that_accepts_it_and_then_is_one_step():
    span = {"start": "2021-03-01", "end": "2021-03-07"}
    refused = plan_run(run=make_run(job=None, selection={"assets": ["events"]}, partitionRange=span), job=None,
                       assets=index(daily()), observed={}, now=NOW)
    assert outcome(refused).reason == "InvalidPartition" and "at most 1 partition" in outcome(refused).message
    bulk = daily(partitions={**DAILY, "backfillPolicy": {"type": "MultiRun", "maxPartitionsPerRun": 7}})
    plan = plan_run(run=make_run(job=None, selection={"assets": ["events"]}, partitionRange=span), job=None,
                    assets=index(bulk), observed={}, now=NOW)
    (launch,) = plan.launches
    assert launch.contract.partition_range == ("2021-03-01", "2021-03-07")
    assert launch.contract.output_uri == "file:///data/events/{partition}"


def test_records_merge_newer_wins_and_the_same_run_is_recorded_once():
    old = materialized_record("2021-03-01", "r1", seconds=0)
    newer = materialized_record("2021-03-01", "r2", seconds=10)
    assert merge_record(old, newer) == newer
    assert merge_record(newer, old) is None  # an older Run finishing late
    assert merge_record(newer, newer) is None  # recorded again after a crash
    failure = PartitionRecord(partition="2021-03-01", failed_run="r3", failed_time=at(20))
    failed = merge_record(newer, failure)
    assert (failed.run, failed.failed_run) == ("r2", "r3") and failed.state == "Failed"
    assert merge_record(failed, failure) is None
    registered = PartitionRecord(partition="2021-03-01")
    assert merge_record(registered, newer) == newer and merge_record(newer, registered) is None


def test_a_key_goes_to_one_of_at_most_256_slices_growing_with_the_partition_count():
    assert slice_name("events", "2021-03-01", partitions=10) == "events-p00"
    names = {slice_name("events", f"k{i}", partitions=100_000) for i in range(20_000)}
    assert len(names) == 256
    assert slice_name("events", "k1", partitions=100_000) == slice_name("events", "k1", partitions=100_000)


def test_a_partition_is_stale_when_an_upstream_partition_it_read_holds_other_data():
    lineage = [{"asset": "events", "partition": key, "run": f"day-{key}", "dataVersion": "v1"} for key in MARCH]
    held = {
        "events": {key: materialized_record(key, f"day-{key}") for key in MARCH},
        "report": {"2021-03-01": materialized_record("2021-03-01", "march", lineage=lineage)},
    }
    assets = index(daily(), monthly())
    fresh = summarize_asset(assets["report"], records=records_from(held), assets=assets, now=NOW)
    assert (fresh.materialized, fresh.stale, fresh.missing) == (1, 0, fresh.total - 1)
    held["events"]["2021-03-15"] = materialized_record("2021-03-15", "fix", "v2", seconds=30)
    stale = summarize_asset(assets["report"], records=records_from(held), assets=assets, now=NOW)
    assert stale.stale == 1 and stale.stale_ranges[0].start == "2021-03-01"
    status = with_partition_summary(assets["report"].status, stale, generation=1, now=NOW)
    condition = find_condition(status.conditions, "Stale")
    assert (condition.status, condition.reason) == ("True", "PartitionsStale")


def test_an_eager_monthly_partition_runs_once_every_day_is_there_and_again_when_one_changes():
    assets = index(daily(), monthly(automation="Eager"))
    held = {"events": {key: materialized_record(key, f"day-{key}") for key in MARCH[:-1]}}
    assert plan_partition_eager_runs(assets["report"], assets=assets, records=records_from(held), now=NOW) == ()
    held["events"]["2021-03-31"] = materialized_record("2021-03-31", "day-2021-03-31")
    (request,) = plan_partition_eager_runs(assets["report"], assets=assets, records=records_from(held), now=NOW)
    assert request.spec.partition == "2021-03-01" and request.spec.selection.assets == ["report"]
    again = plan_partition_eager_runs(assets["report"], assets=assets, records=records_from(held), now=NOW)
    assert again[0].name == request.name  # same upstream data: the same Run (409), never a second one
    lineage = [{"asset": "events", "partition": k, "run": f"day-{k}", "dataVersion": "v1"} for k in MARCH]
    held["report"] = {"2021-03-01": materialized_record("2021-03-01", request.name, lineage=lineage)}
    assert plan_partition_eager_runs(assets["report"], assets=assets, records=records_from(held), now=NOW) == ()
    held["events"]["2021-03-15"] = materialized_record("2021-03-15", "fix", "v2", seconds=30)
    (rerun,) = plan_partition_eager_runs(assets["report"], assets=assets, records=records_from(held), now=NOW)
    assert rerun.name != request.name


def test_lineage_of_many_partitions_collapses_to_one_entry_per_upstream():
    entries = [LineageEntry(asset="events", partition=k, run="r", data_version="v") for k in MARCH]
    (entry,) = collapse_lineage(entries)
    assert (entry.partition, entry.partition_count, entry.run, entry.data_version) == (
        "2021-03-01...2021-03-31", 31, "r", "v")


def test_dynamic_keys_in_records_extend_the_space():
    files = make_asset("files", partitions={"dimensions": [{"name": "file", "dynamic": {"keys": ["a.csv"]}}]})
    held = {"files": {"b.csv": PartitionRecord(partition="b.csv")}}
    space = build_space(files, now=NOW, records=records_from(held))
    assert list(space.keys()) == ["a.csv", "b.csv"]
