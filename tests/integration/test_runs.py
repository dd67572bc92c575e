"""The operator runs Kasset pipelines on kwok nodes: order, lineage, retries, bad input."""

from __future__ import annotations

import pytest

from support.clusterinfo import wait_for
from support.kasset import Kasset, asset, job, kwok_container, run

pytestmark = pytest.mark.usefixtures("kwok_operator")


@pytest.fixture
def kasset(cluster, namespace) -> Kasset:
    return Kasset(cluster, namespace)


def _step_starts(kasset: Kasset, run_name: str) -> dict[str, object]:
    return {j.metadata.labels["kasset.dev/step"]: j.metadata.creation_timestamp for j in kasset.step_jobs(run_name)}


def test_three_asset_chain_materializes_in_order_with_lineage_naming_upstream_runs(kasset):
    kasset.create(
        asset("raw", container=kwok_container(result={"dataVersion": "raw-v1", "metadata": {"rows": 3}})),
        asset("clean", deps=("raw",), container=kwok_container(result={"dataVersion": "clean-v1"})),
        asset("report", deps=("clean",), container=kwok_container(result={"metadata": {"pages": 2}})),
        job("daily", selection={"assets": ["report"], "upstream": True}),
        run("daily-1", job_ref="daily"),
    )
    done = kasset.wait_run("daily-1")
    starts = _step_starts(kasset, "daily-1")
    assert starts["raw"] <= starts["clean"] <= starts["report"]
    assert [s["state"] for s in done["status"]["steps"]] == ["Succeeded"] * 3
    assert done["status"]["progress"] == "3/3"

    raw = kasset.get("assets", "raw")["status"]["lastMaterialization"]
    assert raw["run"] == "daily-1" and raw["dataVersion"] == "raw-v1" and raw["metadata"] == {"rows": 3}
    clean = kasset.get("assets", "clean")["status"]["lastMaterialization"]
    assert clean["lineage"] == [{"asset": "raw", "run": "daily-1", "dataVersion": "raw-v1"}]
    report = kasset.get("assets", "report")["status"]
    assert report["lastMaterialization"]["lineage"] == [{"asset": "clean", "run": "daily-1", "dataVersion": "clean-v1"}]
    assert report["lastMaterialization"]["metadata"] == {"pages": 2}


def test_second_run_of_one_asset_records_lineage_to_the_upstream_materialized_by_an_earlier_run(kasset):
    kasset.create(
        asset("source", container=kwok_container(result={"dataVersion": "s1"})),
        asset("derived", deps=("source",)),
        run("first", assets=["source"]),
    )
    kasset.wait_run("first")
    stale = wait_for(lambda: kasset.condition("assets", "derived", "Stale"), timeout=30, what="derived Stale")
    assert stale["status"] == "True"
    kasset.create(run("second", assets=["derived"]))
    kasset.wait_run("second")
    derived = kasset.get("assets", "derived")["status"]
    assert derived["lastMaterialization"]["lineage"] == [{"asset": "source", "run": "first", "dataVersion": "s1"}]
    fresh = wait_for(lambda: (c := kasset.condition("assets", "derived", "Stale")) and c["status"] == "False" and c,
                     timeout=30, what="derived no longer Stale")
    assert fresh["status"] == "False"


def test_failed_step_is_retried_then_fails_the_run_with_the_steps_message(kasset):
    failing = kwok_container(fail=True, result={"error": "table orders: 3 rows violate NOT NULL"})
    kasset.create(asset("orders", container=failing, retry={"limit": 1}),
                  asset("summary", deps=("orders",)),
                  run("nightly", assets=["orders", "summary"]))
    done = kasset.wait_run("nightly", expect="False", timeout=180)
    outcome = next(c for c in done["status"]["conditions"] if c["type"] == "Succeeded")
    assert outcome["reason"] == "StepFailed"
    assert "3 rows violate NOT NULL" in outcome["message"]
    steps = {s["name"]: s for s in done["status"]["steps"]}
    assert steps["orders"]["state"] == "Failed" and steps["orders"]["attempts"] == 2
    assert steps["summary"]["state"] == "Skipped"
    (step_job,) = kasset.step_jobs("nightly")
    assert step_job.status.failed == 2


def test_dependency_cycle_is_a_false_condition_with_a_reason(kasset):
    kasset.create(asset("a", deps=("b",)), asset("b", deps=("a",)), run("loop", assets=["a"]))
    done = kasset.wait_run("loop", expect="False", timeout=60)
    outcome = next(c for c in done["status"]["conditions"] if c["type"] == "Succeeded")
    assert outcome["reason"] == "DependencyCycle"
    assert "a" in outcome["message"] and "b" in outcome["message"]
    assert kasset.step_jobs("loop") == []
    ready = wait_for(lambda: kasset.condition("assets", "a", "DependenciesResolved"), timeout=30,
                     what="the Asset's dependency condition")
    assert ready["status"] == "False" and ready["reason"] == "DependencyCycle"


def test_fan_out_runs_one_indexed_job_over_the_reported_items(kasset):
    items = [f"part-{i}.csv" for i in range(5)]
    kasset.create(
        job("split", maxParallelSteps=3, steps=[
            {"name": "list", "container": kwok_container(result={"items": items})},
            {"name": "process", "container": kwok_container(), "fanOut": {"fromStep": "list"}},
        ]),
        run("split-1", job_ref="split"),
    )
    done = kasset.wait_run("split-1")
    process = next(j for j in kasset.step_jobs("split-1") if j.metadata.labels["kasset.dev/step"] == "process")
    assert process.spec.completion_mode == "Indexed"
    assert process.spec.completions == 5 and process.spec.parallelism == 3
    assert process.status.succeeded == 5
    steps = {s["name"]: s for s in done["status"]["steps"]}
    assert steps["list"]["itemCount"] == 5


def test_finished_runs_beyond_the_jobs_history_limit_are_deleted_with_their_step_jobs(kasset):
    kasset.create(asset("tick"), job("ticker", selection={"assets": ["tick"]}, successfulRunsHistoryLimit=1),
                  run("tick-1", job_ref="ticker"))
    kasset.wait_run("tick-1")
    kasset.create(run("tick-2", job_ref="ticker"))
    kasset.wait_run("tick-2")

    def pruned() -> bool:
        names = [r["metadata"]["name"] for r in kasset.custom.list_namespaced_custom_object(
            "kasset.dev", "v1alpha1", kasset.namespace, "runs")["items"]]
        return names == ["tick-2"]

    wait_for(pruned, timeout=30, what="Run tick-1 to be pruned")
    wait_for(lambda: not kasset.step_jobs("tick-1"), timeout=60, what="tick-1's step Job to be collected")
    assert [j.metadata.labels["kasset.dev/step"] for j in kasset.step_jobs("tick-2")] == ["tick"]


def test_eager_asset_is_materialized_once_after_its_upstream_with_lineage_to_that_run(kasset):
    kasset.create(
        asset("prices", container=kwok_container(result={"dataVersion": "p1"})),
        asset("fx", container=kwok_container(result={"dataVersion": "fx1"})),
        asset("valuation", deps=("prices", "fx"), automation="Eager"),
        run("morning", assets=["prices", "fx"]),
    )
    kasset.wait_run("morning")

    def eager_runs() -> list[dict]:
        runs = kasset.custom.list_namespaced_custom_object("kasset.dev", "v1alpha1", kasset.namespace, "runs",
                                                           label_selector="kasset.dev/source-run=morning")["items"]
        return runs

    (follow_up,) = wait_for(eager_runs, timeout=30, what="an Eager Run after Run morning")
    assert follow_up["spec"]["selection"]["assets"] == ["valuation"]
    assert follow_up["spec"]["trigger"]["type"] == "Automation"
    kasset.wait_run(follow_up["metadata"]["name"])
    lineage = kasset.get("assets", "valuation")["status"]["lastMaterialization"]["lineage"]
    assert sorted((e["asset"], e["run"], e["dataVersion"]) for e in lineage) == [
        ("fx", "morning", "fx1"), ("prices", "morning", "p1")]
    assert len(eager_runs()) == 1  # one Run for both upstreams, never a second


@pytest.mark.parametrize(("objects", "reason", "names"), [
    ([run("orphan", job_ref="nightly")], "JobNotFound", "nightly"),
    ([asset("child", deps=("ghost",)), run("orphan", assets=["child"]) | {"spec": {"selection": {"assets": ["child"], "upstream": True}}}],
     "MissingDependency", "ghost"),
], ids=["missing-job", "missing-upstream-asset"])
def test_missing_reference_is_waited_for_then_fails_the_run_with_a_reason(kasset, objects, reason, names):
    kasset.create(*objects)
    waiting = wait_for(lambda: kasset.condition("runs", "orphan", "Succeeded"), timeout=30, what="a first condition")
    assert waiting["reason"] == reason
    done = kasset.wait_run("orphan", expect="False", timeout=60)
    outcome = next(c for c in done["status"]["conditions"] if c["type"] == "Succeeded")
    assert outcome["reason"] == reason and names in outcome["message"]
    assert kasset.step_jobs("orphan") == []


def test_a_namespace_created_after_the_operator_started_is_served_from_its_first_event(cluster, kwok_operator,
                                                                                       request):
    """Watches are cluster-wide and filtered: no per-namespace discovery delay (it used to take minutes)."""
    import time

    namespace = cluster.create_namespace(request.node.name, prefix="it")
    try:
        fresh = Kasset(cluster, namespace)
        started = time.monotonic()
        fresh.create(asset("first"), run("first-run", assets=["first"]))
        wait_for(lambda: fresh.step_jobs("first-run"), timeout=10, what="the first step Job in a new namespace")
        assert time.monotonic() - started < 5
    finally:
        cluster.delete_namespace(namespace)
