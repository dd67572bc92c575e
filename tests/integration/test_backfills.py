"""Backfills on kwok nodes: one Run per partition, never more than maxConcurrentRuns at once (seen by a watch on
Runs, event by event), restart safety under SIGKILL, a failed partition in status and its rerun, the cancellation
of unstarted Runs when a Backfill is deleted, and the `kasset backfill` command's exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from kubernetes import client

from support.clusterinfo import wait_for
from support.failing import failing_partitions
from support.kasset import Kasset, asset, backfill, job, kwok_container
from support.operator import OperatorProcess
from support.runwatch import RunTally

DAILY = {"dimensions": [{"name": "day", "timeWindow": {"cadence": "Daily", "start": "2021-01-01"}}]}
MAY = [f"2021-05-{day:02d}" for day in range(1, 32)]


def daily_pipeline(*, delay: str = "300ms", **job_spec) -> tuple[dict, ...]:
    """Two daily assets (the second reads the first's same day) and Job `daily` selecting both."""
    return (asset("events", partitions=DAILY, container=kwok_container(delay=delay)),
            asset("totals", deps=("events",), partitions=DAILY, container=kwok_container(delay=delay)),
            job("daily", selection={"assets": ["events", "totals"]}, **job_spec))


def backfill_runs(tally: RunTally) -> dict[str, dict]:
    return {name: obj for name, obj in tally.objects.items() if name.startswith("may-")}


def test_a_month_backfill_creates_one_run_per_day_never_more_than_max_concurrent_at_once(cluster, kwok_operator,
                                                                                      namespace):
    kasset = Kasset(cluster, namespace)
    kasset.create(*daily_pipeline())
    with RunTally(cluster, namespace) as tally:
        kasset.create(backfill("may", job_ref="daily", partitions={"from": "2021-05-01", "to": "2021-06-01"},
                               maxConcurrentRuns=4))
        done = kasset.wait_backfill("may", timeout=300)
    status = done["status"]
    assert (status["requested"], status["succeeded"], status["failed"], status["runs"]) == (31, 31, 0, 31)
    assert status["progress"] == "31/31" and status.get("failedPartitions", []) == []
    assert tally.names == {f"may-{i}" for i in range(31)}  # exactly 31 Runs, named by batch
    assert sorted(run["spec"]["partition"] for run in tally.objects.values()) == MAY
    assert tally.peak == 4  # the bound was reached and never passed
    table = cluster.kubectl("get", "backfills", "-n", namespace).stdout
    assert table.split()[:10] == ["NAME", "JOB", "REQUESTED", "RUNNING", "SUCCEEDED", "FAILED", "PROGRESS",
                                  "COMPLETE", "REASON", "AGE"]
    assert table.split()[10:19] == ["may", "daily", "31", "0", "31", "0", "31/31", "True", "Succeeded"]


@pytest.fixture
def own_namespace(cluster, request):
    name = cluster.create_namespace(request.node.name, prefix="bf")
    yield name
    cluster.delete_namespace(name)


def test_an_operator_killed_in_the_middle_of_a_backfill_converges_with_exactly_one_run_per_day(
        cluster, crds, own_namespace, tmp_path):
    op = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace_pattern=own_namespace, node_kind="kwok",
                         log_path=tmp_path / "operator.log")
    kasset = Kasset(cluster, own_namespace)
    kasset.create(*daily_pipeline(delay="1s"))
    op.start()
    try:
        with RunTally(cluster, own_namespace) as tally:
            kasset.create(backfill("may", job_ref="daily", partitions={"from": "2021-05-01", "to": "2021-06-01"},
                                   maxConcurrentRuns=5))
            for seen in (8, 20):
                wait_for(lambda: len(tally.names) >= seen, timeout=120, what=f"{seen} Runs before the crash")
                op.kill()
                assert len(tally.names) < 31, "the backfill finished before the crash; the test proves nothing"
                op.start()
            done = kasset.wait_backfill("may", timeout=300)
    except BaseException:
        print(op.log_tail())
        raise
    finally:
        op.stop()
    assert op.starts == 3 and op.tracebacks() == []
    assert tally.names == {f"may-{i}" for i in range(31)} and not tally.deleted
    assert sorted(run["spec"]["partition"] for run in tally.objects.values()) == MAY
    assert tally.peak <= 5
    assert (done["status"]["succeeded"], done["status"]["runs"]) == (31, 31)


def kasset_cli(cluster, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    return subprocess.run([sys.executable, "-m", "kasset.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_a_failed_partition_shows_in_status_and_re_running_the_command_re_runs_only_it(cluster, kwok_operator,
                                                                                       namespace):
    kasset = Kasset(cluster, namespace)
    kasset.create(*daily_pipeline())
    command = ("backfill", "daily", "--from", "2021-05-08", "--to", "2021-05-13", "-n", namespace,
               "--max-concurrent", "2", "--wait", "--timeout", "240")
    with failing_partitions(cluster, namespace, ["2021-05-10", "2021-05-11"]):
        first = kasset_cli(cluster, *command)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "3 of 5 partitions succeeded, 2 failed (2021-05-10...2021-05-11)" in first.stdout
    name = "daily-2021-05-08-2021-05-13"
    status = kasset.get("backfills", name)["status"]
    assert (status["requested"], status["succeeded"], status["failed"], status["runs"]) == (5, 3, 2, 5)
    assert status["failedPartitions"] == [{"start": "2021-05-10", "end": "2021-05-11", "count": 2}]
    outcome = next(c for c in status["conditions"] if c["type"] == "Complete")
    assert (outcome["status"], outcome["reason"]) == ("False", "PartitionsFailed")
    assert "2021-05-10...2021-05-11" in outcome["message"]

    again = kasset_cli(cluster, *command)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "re-running its failed partitions" in again.stdout
    assert "5 of 5 partitions succeeded" in again.stdout
    runs = kasset.custom.list_namespaced_custom_object("kasset.dev", "v1alpha1", namespace, "runs",
                                                       label_selector=f"kasset.dev/backfill={name}")["items"]
    assert sorted(r["metadata"]["name"] for r in runs) == sorted(
        [f"{name}-{i}" for i in range(5)] + [f"{name}-2-r1", f"{name}-3-r1"])
    status = kasset.get("backfills", name)["status"]
    assert (status["succeeded"], status["failed"], status["runs"], status.get("failedPartitions", [])) == (5, 0, 7, [])


def test_deleting_a_backfill_deletes_its_unstarted_runs_and_lets_the_running_one_finish(cluster, kwok_operator,
                                                                                       namespace):
    kasset = Kasset(cluster, namespace)
    kasset.create(*daily_pipeline(delay="3s", maxConcurrentRuns=1))  # the Job runs one Run at a time
    with RunTally(cluster, namespace) as tally:
        kasset.create(backfill("may", job_ref="daily", partitions={"from": "2021-05-01", "to": "2021-06-01"},
                               maxConcurrentRuns=3))
        wait_for(lambda: len(tally.names) == 3 and any((o.get("status") or {}).get("startTime")
                                                        for o in tally.objects.values()),
                 timeout=60, what="three Runs, one of them started")
        running = [n for n, o in tally.objects.items() if (o.get("status") or {}).get("startTime")]
        kasset.custom.delete_namespaced_custom_object("kasset.dev", "v1alpha1", namespace, "backfills", "may")
        wait_for(lambda: len(tally.deleted) == 2, timeout=60, what="the two queued Runs to be deleted")
        (survivor,) = running
        kasset.wait_run(survivor, timeout=60)
    assert tally.deleted == {f"may-{i}" for i in range(3)} - {survivor}
    assert tally.names == {f"may-{i}" for i in range(3)}


def test_the_backfill_command_exits_2_when_the_job_does_not_exist(cluster, crds, namespace):
    done = kasset_cli(cluster, "backfill", "nightly", "--from", "2021-05-01", "--to", "2021-06-01", "-n", namespace)
    assert done.returncode == 2
    assert f"Job nightly not found in namespace {namespace}" in done.stderr
    assert Kasset(cluster, namespace).custom.list_namespaced_custom_object(
        "kasset.dev", "v1alpha1", namespace, "backfills")["items"] == []


@pytest.mark.parametrize(("spec", "words"), [
    ({"partitions": {"from": "2021-05-01", "to": "2021-06-01", "keys": ["2021-05-01"]}}, "either from and to, or keys"),
    ({"partitions": {"from": "2021-05-01"}}, "either from and to, or keys"),
    ({"partitions": {"from": "2021-06-01", "to": "2021-05-01"}}, "from must come before to"),
    ({"partitions": {"keys": ["a"]}, "selection": {"assets": ["events"]}}, "exactly one of spec.jobRef and spec.selection"),
    ({"partitions": {"keys": ["a"]}, "maxConcurrentRuns": 0}, "maxConcurrentRuns"),
], ids=["range-and-keys", "from-without-to", "backwards", "job-and-selection", "no-concurrency"])
def test_the_api_server_refuses_an_invalid_backfill_naming_the_field(cluster, crds, namespace, spec, words):

    with pytest.raises(client.ApiException) as refused:
        Kasset(cluster, namespace).create(backfill("bad", job_ref="daily", **spec))
    assert refused.value.status == 422 and words in refused.value.body


@pytest.mark.parametrize(("patch", "words"), [
    ({"spec": {"partitions": {"from": "2021-05-01", "to": "2021-07-01"}}}, "spec.partitions is immutable"),
    ({"spec": {"jobRef": {"name": "weekly"}}}, "spec.jobRef and spec.selection are immutable"),
], ids=["partitions", "job"])
def test_the_api_server_refuses_edits_of_what_a_backfill_runs_but_not_of_how(cluster, crds, namespace, patch, words):

    kasset = Kasset(cluster, namespace)
    kasset.create(backfill("may", job_ref="daily", partitions={"from": "2021-05-01", "to": "2021-06-01"}))
    with pytest.raises(client.ApiException) as refused:
        kasset.custom.patch_namespaced_custom_object("kasset.dev", "v1alpha1", namespace, "backfills", "may", patch)
    assert refused.value.status == 422 and words in refused.value.body
    changed = kasset.custom.patch_namespaced_custom_object(
        "kasset.dev", "v1alpha1", namespace, "backfills", "may",
        {"spec": {"suspend": True, "maxConcurrentRuns": 8, "rerunFailed": 1}})
    assert (changed["spec"]["suspend"], changed["spec"]["maxConcurrentRuns"], changed["spec"]["rerunFailed"]) == (
        True, 8, 1)
