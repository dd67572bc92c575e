"""The partitions example (manifests/examples/04-partitions) on the real node: its Backfill runs April 2021 day by
day, the blocking check runs after each day, the monthly report runs by itself once every day is there and
names the 30 days it read; the nightly Schedule is accepted, suspended; and a day whose check fails blocks its
downstream step, which `kubectl get` shows with the check's message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.clusterinfo import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.realnode]

FOLDER = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "04-partitions"
APRIL = [f"2021-04-{day:02d}" for day in range(1, 31)]
BACKFILL_TIMEOUT = 900


def kubectl_json(cluster, namespace: str, *args: str):
    done = cluster.kubectl("-n", namespace, "get", *args, "-o", "json", check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def condition(obj: dict, type_: str) -> dict | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == type_), None)


def test_the_partitions_example_backfills_april_and_the_month_names_each_day(
    cluster, namespace, real_node, operator
):
    done = cluster.kubectl("apply", "-n", namespace, "-f", str(FOLDER), check=False)
    assert done.returncode == 0, done.stderr

    def complete():
        backfill = kubectl_json(cluster, namespace, "backfills.kasset.dev", "daily-2021-04")
        found = condition(backfill, "Complete")
        if found is not None and found["status"] == "False" and found["reason"] != "Pending":
            raise AssertionError(json.dumps(backfill.get("status"), indent=1))
        return backfill if found is not None and found["status"] == "True" else None

    backfill = wait_for(complete, timeout=BACKFILL_TIMEOUT, what="Backfill daily-2021-04 Complete", interval=2)
    assert (backfill["status"]["requested"], backfill["status"]["succeeded"]) == (30, 30)

    def april_report():
        slices = kubectl_json(cluster, namespace, "partitionslices.kasset.dev", "-l", "kasset.dev/asset=monthly-report")
        records = {r["partition"]: r for item in slices["items"] for r in item.get("status", {}).get("records", [])}
        record = records.get("2021-04-01")
        return record if record and record.get("run") else None

    record = wait_for(april_report, timeout=300, what="monthly-report 2021-04-01 materialized", interval=2)
    assert [(e["asset"], e["partition"]) for e in record["lineage"]] == [("daily-totals", day) for day in APRIL]
    assert record["metadata"]["days"] == 30
    assets = {a["metadata"]["name"]: a for a in kubectl_json(cluster, namespace, "assets.kasset.dev")["items"]}
    daily = assets["daily-events"]["status"]
    assert daily["partitions"]["materializedRanges"][0] == {"start": "2021-04-01", "end": "2021-04-30", "count": 30}
    assert condition(assets["daily-events"], "ChecksPassed")["status"] == "True"
    nightly = wait_for(lambda: condition(kubectl_json(cluster, namespace, "schedules.kasset.dev", "nightly"), "Ready"),
                       timeout=30, what="the nightly Schedule's Ready condition")
    assert (nightly["status"], nightly["reason"]) == ("True", "Suspended")  # the example ships it suspended


def test_a_failing_blocking_check_skips_the_downstream_step_and_kubectl_shows_its_message(
    cluster, namespace, real_node, operator
):
    for name in ("00-data.yaml", "10-code.yaml", "20-assets.yaml", "30-jobs.yaml"):  # not the Backfill
        done = cluster.kubectl("apply", "-n", namespace, "-f", str(FOLDER / name), check=False)
        assert done.returncode == 0, done.stderr
    bad_run = {"apiVersion": "kasset.dev/v1alpha1", "kind": "Run", "metadata": {"name": "bad-day"},
               "spec": {"jobRef": {"name": "daily"}, "partition": "2021-04-13", "params": {"inject_bad_row": True}}}
    done = cluster.kubectl("create", "-n", namespace, "-f", "-", input=json.dumps(bad_run), check=False)
    assert done.returncode == 0, done.stderr

    def finished():
        run = kubectl_json(cluster, namespace, "runs.kasset.dev", "bad-day")
        found = condition(run, "Succeeded")
        return run if found is not None and found["status"] in ("True", "False") else None

    run = wait_for(finished, timeout=300, what="Run bad-day finished", interval=1)
    outcome = condition(run, "Succeeded")
    assert (outcome["status"], outcome["reason"]) == ("False", "CheckFailed"), outcome
    steps = {step["name"]: step for step in run["status"]["steps"]}
    assert steps["daily-events"]["state"] == "Succeeded"
    assert steps["daily-totals"]["state"] == "Skipped"
    assert "1 negative amounts in 2021-04-13" in steps["daily-totals"]["message"]

    def shown():
        table = cluster.kubectl("-n", namespace, "get", "assets.kasset.dev", "daily-events", check=False)
        return table.stdout if "1 negative amounts in 2021-04-13" in table.stdout else None

    table = wait_for(shown, timeout=60, what="the check's message in kubectl get assets", interval=1)
    assert "False" in table
