"""Partitioned assets on a real API server (kwok nodes): keys checked against the definition, the window in
the step's environment, exact per-partition records in PartitionSlices, a monthly partition reading (and
naming) every day of its month, Eager across partition spaces, ranges, and the bounded summary in status."""

from __future__ import annotations

import json

import pytest

from support.clusterinfo import wait_for
from support.kasset import GROUP, VERSION, Kasset, asset, job, kwok_container, run

pytestmark = pytest.mark.usefixtures("kwok_operator")

DAILY = {"dimensions": [{"name": "day", "timeWindow": {"cadence": "Daily", "start": "2021-01-01"}}]}
MONTHLY = {"dimensions": [{"name": "month", "timeWindow": {"cadence": "Monthly", "start": "2021-01-01"}}]}
MAY = [f"2021-05-{day:02d}" for day in range(1, 32)]


@pytest.fixture
def kasset(cluster, namespace) -> Kasset:
    return Kasset(cluster, namespace)


def records_of(kasset: Kasset, asset_name: str) -> dict[str, dict]:
    """Every partition record of the asset, from its PartitionSlices."""
    slices = kasset.custom.list_namespaced_custom_object(GROUP, VERSION, kasset.namespace, "partitionslices",
                                                         label_selector=f"kasset.dev/asset={asset_name}")["items"]
    return {record["partition"]: record for item in slices for record in (item.get("status") or {}).get("records", [])}


def env_of(step_job) -> dict[str, str]:
    return {e.name: e.value for e in step_job.spec.template.spec.containers[0].env or []}


def daily(name: str = "events", **spec) -> dict:
    result = {"dataVersion": "v1", "metadata": {"rows": 3}}
    return asset(name, partitions=DAILY, container=kwok_container(result=result), **spec)


def monthly(name: str = "report", *, upstream: str = "events", **spec) -> dict:
    body = asset(name, partitions=MONTHLY, **spec)
    body["spec"]["deps"] = [{"asset": upstream, "partitionMapping": {"type": "TimeWindow"}}]
    return body


def test_a_partition_run_gets_its_window_and_records_the_partition_in_a_slice(kasset):
    kasset.create(daily(), run("may-3", assets=["events"], partition="2021-05-03"))
    kasset.wait_run("may-3")
    (step_job,) = kasset.step_jobs("may-3")
    env = env_of(step_job)
    assert env["KASSET_PARTITION"] == "2021-05-03"
    assert env["KASSET_PARTITION_WINDOW_START"] == "2021-05-03T00:00:00+00:00"
    assert env["KASSET_PARTITION_WINDOW_END"] == "2021-05-04T00:00:00+00:00"
    record = wait_for(lambda: records_of(kasset, "events").get("2021-05-03"), timeout=30, what="record of 2021-05-03")
    assert (record["run"], record["dataVersion"], record["metadata"]) == ("may-3", "v1", {"rows": 3})

    def summed_up():
        summary = (kasset.get("assets", "events").get("status") or {}).get("partitions")
        return summary if summary and summary["materialized"] == 1 else None

    summary = wait_for(summed_up, timeout=30, what="partition summary")
    assert summary["materializedRanges"] == [{"start": "2021-05-03", "end": "2021-05-03", "count": 1}]
    assert summary["missing"] == summary["total"] - 1


def test_a_key_outside_the_definition_fails_the_run_naming_the_dimension(kasset):
    kasset.create(daily(), run("bad-day", assets=["events"], partition="2021-13-01"),
                  run("too-early", assets=["events"], partition="2020-12-31"),
                  run("no-key", assets=["events"]))
    for name in ("bad-day", "too-early"):
        done = kasset.wait_run(name, expect="False", timeout=60)
        outcome = next(c for c in done["status"]["conditions"] if c["type"] == "Succeeded")
        assert outcome["reason"] == "InvalidPartition" and "dimension day" in outcome["message"], outcome
    done = kasset.wait_run("no-key", expect="False", timeout=60)
    outcome = next(c for c in done["status"]["conditions"] if c["type"] == "Succeeded")
    assert outcome["reason"] == "PartitionRequired", outcome
    assert kasset.step_jobs("bad-day") == kasset.step_jobs("no-key") == []


def test_a_monthly_partition_reads_every_day_of_its_month_and_its_lineage_names_each(kasset):
    kasset.create(daily(), monthly(), job("days", selection={"assets": ["events"]}, successfulRunsHistoryLimit=100))
    kasset.create(*(run(f"day-{key}", job_ref="days", partition=key) for key in MAY))
    for key in MAY:
        kasset.wait_run(f"day-{key}")
    kasset.create(run("may", assets=["report"], partition="2021-05-01"))
    kasset.wait_run("may")
    (step_job,) = kasset.step_jobs("may")
    listed = json.loads(env_of(step_job)["KASSET_INPUT_PARTITIONS"])["events"]
    assert sorted(listed) == MAY and listed["2021-05-31"].endswith("/events/2021-05-31")
    record = wait_for(lambda: records_of(kasset, "report").get("2021-05-01"), timeout=30, what="monthly record")
    assert [(e["asset"], e["partition"], e["run"]) for e in record["lineage"]] == [
        ("events", key, f"day-{key}") for key in MAY
    ]
    last = kasset.get("assets", "report")["status"]["lastMaterialization"]
    assert last["partition"] == "2021-05-01"
    assert last["lineage"] == [{"asset": "events", "partition": "2021-05-01...2021-05-31", "partitionCount": 31,
                                "dataVersion": "v1"}]


def test_an_eager_monthly_asset_runs_its_month_once_every_day_is_materialized(kasset):
    kasset.create(daily(), monthly(automation="Eager"), job("days", selection={"assets": ["events"]}, successfulRunsHistoryLimit=100))
    june = [f"2021-06-{day:02d}" for day in range(1, 31)]
    kasset.create(*(run(f"day-{key}", job_ref="days", partition=key) for key in june[:-1]))
    for key in june[:-1]:
        kasset.wait_run(f"day-{key}")
    assert _monthly_runs(kasset) == []  # 29 of 30 days: the month does not run yet
    kasset.create(run("day-2021-06-30", job_ref="days", partition="2021-06-30"))
    kasset.wait_run("day-2021-06-30")
    (eager,) = wait_for(lambda: _monthly_runs(kasset) or None, timeout=60, what="the eager Run of June")
    assert eager["spec"]["partition"] == "2021-06-01" and eager["spec"]["trigger"]["type"] == "Automation"
    kasset.wait_run(eager["metadata"]["name"])
    record = wait_for(lambda: records_of(kasset, "report").get("2021-06-01"), timeout=30, what="June's record")
    assert len(record["lineage"]) == 30
    assert len(_monthly_runs(kasset)) == 1  # the month's record now matches what it read: no second Run


def _monthly_runs(kasset: Kasset) -> list[dict]:
    runs = kasset.custom.list_namespaced_custom_object(GROUP, VERSION, kasset.namespace, "runs")["items"]
    return [r for r in runs if (r["spec"].get("selection") or {}).get("assets") == ["report"]]


def test_a_range_run_of_a_single_run_asset_is_one_step_recording_every_key(kasset):
    policy = {**DAILY, "backfillPolicy": {"type": "SingleRun"}}
    kasset.create(asset("bulk", partitions=policy, storage="file:///data/{asset}/{partition}"),
                  run("first-week", assets=["bulk"], partitionRange={"start": "2021-05-01", "end": "2021-05-07"}),
                  daily("per-day"),
                  run("refused", assets=["per-day"], partitionRange={"start": "2021-05-01", "end": "2021-05-07"}))
    kasset.wait_run("first-week")
    (step_job,) = kasset.step_jobs("first-week")
    env = env_of(step_job)
    assert (env["KASSET_PARTITION_RANGE_START"], env["KASSET_PARTITION_RANGE_END"]) == ("2021-05-01", "2021-05-07")
    assert env["KASSET_PARTITION_WINDOW_END"] == "2021-05-08T00:00:00+00:00"
    assert env["KASSET_OUTPUT_URI"] == "file:///data/bulk/{partition}"
    wait_for(lambda: len(records_of(kasset, "bulk")) == 7 or None, timeout=30, what="7 records")
    done = kasset.wait_run("refused", expect="False", timeout=60)
    outcome = next(c for c in done["status"]["conditions"] if c["type"] == "Succeeded")
    assert outcome["reason"] == "InvalidPartition" and "backfillPolicy" in outcome["message"], outcome


def test_a_failed_partition_shows_in_the_summary(kasset):
    kasset.create(asset("flaky", partitions=DAILY, container=kwok_container(fail=True)),
                  run("flaky-may-2", assets=["flaky"], partition="2021-05-02"))
    kasset.wait_run("flaky-may-2", expect="False")

    def failed():
        summary = (kasset.get("assets", "flaky").get("status") or {}).get("partitions")
        return summary if summary and summary["failed"] == 1 else None

    summary = wait_for(failed, timeout=30, what="a failed partition in the summary")
    assert summary["failedRanges"] == [{"start": "2021-05-02", "end": "2021-05-02", "count": 1}]
    assert records_of(kasset, "flaky")["2021-05-02"]["failedRun"] == "flaky-may-2"


def test_keys_a_step_reports_become_partitions_of_the_dynamic_dimension_that_names_it(kasset):
    files = {"dimensions": [{"name": "file", "dynamic": {"keys": ["manual.csv"], "addedBy": "scan"}}]}
    kasset.create(asset("scan", container=kwok_container(result={"partitionKeys": ["a.csv", "b.csv"]})),
                  asset("files", partitions=files), run("scan-1", assets=["scan"]))
    kasset.wait_run("scan-1")
    wait_for(lambda: set(records_of(kasset, "files")) == {"a.csv", "b.csv"} or None, timeout=30,
             what="the reported keys recorded")
    kasset.create(run("file-a", assets=["files"], partition="a.csv"),
                  run("file-manual", assets=["files"], partition="manual.csv"),
                  run("file-c", assets=["files"], partition="c.csv"))
    kasset.wait_run("file-a")
    kasset.wait_run("file-manual")
    done = kasset.wait_run("file-c", expect="False", timeout=60)
    outcome = next(c for c in done["status"]["conditions"] if c["type"] == "Succeeded")
    assert outcome["reason"] == "InvalidPartition" and "dimension file" in outcome["message"], outcome

    def summed_up():
        summary = (kasset.get("assets", "files").get("status") or {}).get("partitions")
        return summary if summary and summary["materialized"] == 2 else None

    summary = wait_for(summed_up, timeout=30, what="the summary of 3 dynamic partitions")
    assert (summary["total"], summary["missing"]) == (3, 1)
