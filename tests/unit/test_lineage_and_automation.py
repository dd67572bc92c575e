"""Materializations recorded by the Run planner, their lineage, and Eager follow-up Runs."""

from kasset.planning.names import step_job_name as job_name
from kasset.planning import StepResult, plan_run
from kasset.planning.automation import find_eager_assets, plan_eager_runs

from kasset_factories import at, index, make_asset, make_job, make_run, materialized, succeeded, with_status

JOB = make_job(selection={"assets": ["clean"], "upstream": True})


def plan(run, observed, assets, job=JOB):
    return plan_run(run=run, job=job, assets=assets, observed={o.name: o for o in observed}, now=at(60))


def test_lineage_names_the_exact_upstream_run_and_data_version_consumed_in_the_same_run():
    assets = index(make_asset("raw"), make_asset("clean", "raw", codeVersion="c2"))
    run = make_run("run-7", partition="2026-01-01")
    run = with_status(run, plan(run, [], assets).status)
    raw_done = succeeded(job_name("run-7", "raw"), result=StepResult(data_version="raw-v9", metadata={"rows": 3}))
    result = plan(run, [raw_done], assets)
    (update,) = result.materializations
    assert update.asset == "raw"
    assert update.materialization.data_version == "raw-v9"
    assert update.materialization.metadata == {"rows": 3}
    run = with_status(run, result.status)
    clean_done = succeeded(job_name("run-7", "clean"), result=StepResult(metadata={"num_records": 12, "preview": "| a |"}), seconds=50)
    result = plan(run, [raw_done, clean_done], assets)
    (update,) = result.materializations
    record = update.materialization
    assert (update.asset, record.run, record.code_version, record.partition) == ("clean", "run-7", "c2", "2026-01-01")
    assert record.time == at(50)
    assert record.data_version == "uid-run-7"  # the step reported none: the Run's uid
    assert [(e.asset, e.run, e.data_version) for e in record.lineage] == [("raw", "run-7", "raw-v9")]


def test_lineage_of_an_upstream_outside_the_run_is_its_current_materialization():
    raw = materialized(make_asset("raw"), run="run-3", data_version="raw-v3")
    assets = index(raw, make_asset("clean", "raw"))
    job = make_job(selection={"assets": ["clean"]})
    run = make_run("run-8")
    run = with_status(run, plan(run, [], assets, job).status)
    result = plan(run, [succeeded(job_name("run-8", "clean"))], assets, job)
    (update,) = result.materializations
    assert [(e.asset, e.run, e.data_version) for e in update.materialization.lineage] == [("raw", "run-3", "raw-v3")]


def test_a_materialization_is_recorded_once():
    assets = index(make_asset("raw"), make_asset("clean", "raw"))
    run = make_run()
    run = with_status(run, plan(run, [], assets).status)
    result = plan(run, [succeeded(job_name("run-1", "raw"))], assets)
    assert len(result.materializations) == 1
    again = plan(with_status(run, result.status), [succeeded(job_name("run-1", "raw"))], assets)
    assert again.materializations == ()


def test_finished_run_requests_one_run_for_the_eager_assets_downstream():
    assets = index(
        make_asset("raw"),
        make_asset("clean", "raw", automation="Eager"),
        make_asset("report", "clean", automation="Eager"),
        make_asset("manual", "raw"),
    )
    job = make_job(selection={"assets": ["raw"]})
    run = make_run("run-9", partition="p1")
    run = with_status(run, plan(run, [], assets, job).status)
    result = plan(run, [succeeded(job_name("run-9", "raw"))], assets, job)
    assert result.finished
    (request,) = result.run_requests
    assert request.spec.selection.assets == ["clean", "report"]
    assert request.spec.trigger.type == "Automation" and request.spec.partition == "p1"
    assert request.name == plan(run, [succeeded(job_name("run-9", "raw"))], assets, job).run_requests[0].name
    assert len(request.name) <= 63


def test_eager_assets_wait_for_an_upstream_that_was_never_materialized():
    assets = index(make_asset("a"), make_asset("b"), make_asset("both", "a", "b", automation="Eager"))
    assert find_eager_assets(["a"], assets) == []
    assets["b"] = materialized(assets["b"], run="r0", data_version="v0")
    assert find_eager_assets(["a"], assets) == ["both"]


def test_eager_run_name_differs_per_triggering_run_and_partition():
    assets = index(make_asset("a"), make_asset("b", "a", automation="Eager"))
    names = {
        plan_eager_runs(materialized=["a"], source_run=r, source_uid=u, partition=p, assets=assets)[0].name
        for r, u, p in [("r1", "u1", None), ("r2", "u2", None), ("r1", "u1", "p2"), ("r1", "u9", None)]
    }
    assert len(names) == 4


def test_assets_the_source_run_attempted_are_not_triggered_again():
    assets = index(make_asset("a"), make_asset("b", "a", automation="Eager"))
    assert plan_eager_runs(materialized=["a"], attempted=["a", "b"], source_run="r", source_uid="u", partition=None, assets=assets) == ()


def test_no_eager_assets_means_no_run_request():
    assets = index(make_asset("a"), make_asset("b", "a"))
    assert plan_eager_runs(materialized=["a"], source_run="r", source_uid=None, partition=None, assets=assets) == ()
