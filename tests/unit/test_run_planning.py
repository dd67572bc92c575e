"""plan_run: launches, outcomes, retries, maxParallelSteps, fail-fast, missing references, restart safety."""

import dataclasses

from kasset.planning.names import step_job_name as job_name
from kasset.api import find_condition
from kasset.planning import PlanSettings, StepResult, plan_run, step_job_name

from kasset_factories import (
    T0,
    at,
    failed,
    index,
    make_asset,
    make_job,
    make_run,
    running,
    step,
    succeeded,
    with_status,
)

ASSETS = index(make_asset("a"), make_asset("b", "a"), make_asset("c", "b"))
JOB = make_job(selection={"assets": ["c"], "upstream": True})


def plan(run, observed=(), *, job=JOB, assets=ASSETS, now=T0, **kwargs):
    return plan_run(
        run=run, job=job, assets=assets, observed={o.name: o for o in observed}, now=now, **kwargs
    )


def advance(run, observed=(), **kwargs):
    """Plan, and return the Run with the planned status (as the reconciler would write it) and the plan."""
    result = plan(run, observed, **kwargs)
    return with_status(run, result.status), result


def outcome(status):
    return find_condition(status.conditions, "Succeeded")


def test_first_reconcile_launches_only_the_steps_without_dependencies():
    result = plan(make_run())
    assert [launch.job_name for launch in result.launches] == [job_name("run-1", "a")]
    assert [(s.name, s.state) for s in result.status.steps] == [("a", "Running"), ("b", "Pending"), ("c", "Pending")]
    assert outcome(result.status).status == "Unknown" and outcome(result.status).reason == "Running"
    assert result.status.progress == "0/3" and result.status.start_time == T0


def test_a_completed_step_job_starts_the_next_step():
    run, _ = advance(make_run())
    run, result = advance(run, [succeeded(job_name("run-1", "a"), result=StepResult(data_version="v1"))], now=at(10))
    assert [launch.job_name for launch in result.launches] == [job_name("run-1", "b")]
    assert step(result, "a").state == "Succeeded" and step(result, "a").data_version == "v1"
    assert result.status.progress == "1/3"


def test_run_succeeds_when_every_step_succeeded():
    run, _ = advance(make_run())
    run, _ = advance(run, [succeeded(job_name("run-1", "a"))])
    run, _ = advance(run, [succeeded(job_name("run-1", "a")), succeeded(job_name("run-1", "b"))])
    run, result = advance(run, [succeeded(n) for n in (job_name("run-1", "a"), job_name("run-1", "b"), job_name("run-1", "c"))], now=at(30))
    assert result.finished and not result.launches
    assert (outcome(result.status).status, outcome(result.status).reason) == ("True", "Succeeded")
    assert result.status.completion_time == at(30) and result.status.progress == "3/3"
    assert any(event.reason == "RunSucceeded" for event in result.events)


def test_planning_twice_from_the_same_observation_launches_the_same_jobs():
    run = make_run()
    first, second = plan(run), plan(run)
    assert [l.job_name for l in first.launches] == [l.job_name for l in second.launches]
    # After a restart the status may already say Running while the Job is not in the cache yet:
    # the Job is asked for again (creating it answers 409 = already launched), and never under a new name.
    run, _ = advance(run)
    again = plan(run)
    assert [l.job_name for l in again.launches] == [job_name("run-1", "a")]
    assert step(again, "a").state == "Running"


def test_a_running_job_is_not_launched_again_and_its_pod_starting_changes_no_status():
    run, launched = advance(make_run())
    result = plan(run, [running(job_name("run-1", "a"))])
    assert not result.launches
    assert result.status == launched.status, "a pod starting is not worth a status write"
    retrying = plan(run, [running(job_name("run-1", "a"), failed_pods=1)])
    assert step(retrying, "a").attempts == 2, "a retry is shown while the step runs"


def test_retries_are_left_to_the_job_until_it_reports_failed():
    asset = make_asset("a", retry={"limit": 2})
    run, first = advance(make_run(job=None, selection={"assets": ["a"]}), assets=index(asset))
    assert first.launches[0].node.retry_limit == 2
    retrying = running(job_name("run-1", "a"), failed_pods=2)
    result = plan(run, [retrying], job=None, assets=index(asset))
    assert step(result, "a").state == "Running" and step(result, "a").attempts == 3
    assert not result.finished


def test_a_failed_step_fails_the_run_with_the_step_message_and_skips_its_downstream():
    run, _ = advance(make_run())
    run, result = advance(run, [failed(job_name("run-1", "a"), message="cannot read s3://x", pods=3)], now=at(20))
    assert result.finished
    assert step(result, "a").state == "Failed"
    assert "cannot read s3://x" in step(result, "a").message and "3 attempts" in step(result, "a").message
    assert [step(result, n).state for n in ("b", "c")] == ["Skipped", "Skipped"]
    condition = outcome(result.status)
    assert (condition.status, condition.reason) == ("False", "StepFailed")
    assert "step a failed: cannot read s3://x" in condition.message
    assert {event.reason for event in result.events} >= {"StepFailed", "RunFailed"}


def test_after_a_failure_nothing_new_starts_but_running_steps_finish():
    job = make_job(steps=[{"name": n, "container": {"image": "i"}} for n in ("x", "y", "z")], maxParallelSteps=2)
    run, _ = advance(make_run(), job=job)
    run, result = advance(run, [failed(job_name("run-1", "x")), running(job_name("run-1", "y"))], job=job)
    assert not result.launches and not result.finished
    assert step(result, "z").state == "Skipped"
    assert outcome(result.status).reason == "Failing"
    run, result = advance(run, [failed(job_name("run-1", "x")), succeeded(job_name("run-1", "y"))], job=job)
    assert result.finished and outcome(result.status).status == "False"


def test_max_parallel_steps_bounds_the_running_steps():
    job = make_job(steps=[{"name": f"s{i}", "container": {"image": "i"}} for i in range(5)], maxParallelSteps=2)
    run, result = advance(make_run(), job=job)
    assert [l.node.name for l in result.launches] == ["s0", "s1"]
    assert "maxParallelSteps 2" in step(result, "s2").message
    run, result = advance(run, [succeeded(job_name("run-1", "s0")), running(job_name("run-1", "s1"))], job=job)
    assert [l.node.name for l in result.launches] == ["s2"]


def fan_out_job(**spec):
    return make_job(
        steps=[
            {"name": "unzip", "container": {"image": "i"}},
            {"name": "each-csv", "container": {"image": "i"}, "fanOut": {"fromStep": "unzip"}, "retry": {"limit": 1}},
        ],
        **spec,
    )


def test_fan_out_runs_one_indexed_job_with_one_completion_per_item_and_bounded_parallelism():
    job = fan_out_job(maxParallelSteps=3)
    run, _ = advance(make_run(), job=job)
    items = StepResult(items=tuple(f"f{i}.csv" for i in range(5)), item_count=5)
    run, result = advance(run, [succeeded(job_name("run-1", "unzip"), result=items)], job=job)
    (launch,) = result.launches
    assert (launch.job_name, launch.completions, launch.parallelism) == (job_name("run-1", "each-csv"), 5, 3)
    assert launch.contract.items == ("f0.csv", "f1.csv", "f2.csv", "f3.csv", "f4.csv")
    assert step(result, "unzip").items == [f"f{i}.csv" for i in range(5)]
    done = succeeded(job_name("run-1", "each-csv"), succeeded_pods=5)
    run, result = advance(run, [succeeded(job_name("run-1", "unzip"), result=items), done], job=job)
    assert result.finished and step(result, "each-csv").item_count == 5
    assert step(result, "unzip").items is None and step(result, "unzip").item_count == 5  # status stays small


def test_fan_out_over_items_stored_by_reference_passes_the_reference():
    job = fan_out_job()
    run, _ = advance(make_run(), job=job)
    ref = StepResult(item_count=9000, result_ref="file:///data/unzip/.kasset-result.json")
    _, result = advance(run, [succeeded(job_name("run-1", "unzip"), result=ref)], job=job)
    (launch,) = result.launches
    assert launch.completions == 9000 and launch.contract.items is None
    assert launch.contract.items_uri == "file:///data/unzip/.kasset-result.json"


def test_fan_out_over_zero_items_succeeds_without_a_job():
    job = fan_out_job()
    run, _ = advance(make_run(), job=job)
    _, result = advance(run, [succeeded(job_name("run-1", "unzip"), result=StepResult(items=(), item_count=0))], job=job)
    assert not result.launches and result.finished
    assert step(result, "each-csv").state == "Succeeded" and step(result, "each-csv").job_name is None


def test_fan_out_fails_when_the_source_reported_no_items():
    job = fan_out_job()
    run, _ = advance(make_run(), job=job)
    _, result = advance(run, [succeeded(job_name("run-1", "unzip"))], job=job)
    assert step(result, "each-csv").state == "Failed"
    assert "reported no items" in step(result, "each-csv").message


def test_failed_indexes_are_named_in_the_failure_message():
    job = fan_out_job()
    run, _ = advance(make_run(), job=job)
    unzip = succeeded(job_name("run-1", "unzip"), result=StepResult(items=("a", "b"), item_count=2))
    run, _ = advance(run, [unzip], job=job)
    broken = dataclasses.replace(failed(job_name("run-1", "each-csv"), message="bad row", reason="FailedIndexes"), failed_indexes="1")
    _, result = advance(run, [unzip, broken], job=job)
    assert "failed indexes 1" in step(result, "each-csv").message


def test_missing_job_is_waited_for_during_the_grace_period_then_fails_the_run():
    run = make_run(created=0)
    waiting = plan(run, job=None, now=at(5))
    assert (outcome(waiting.status).status, outcome(waiting.status).reason) == ("Unknown", "JobNotFound")
    assert waiting.requeue_after == PlanSettings().requeue_seconds and not waiting.finished
    failed_plan = plan(run, job=None, now=at(61))
    assert (outcome(failed_plan.status).status, outcome(failed_plan.status).reason) == ("False", "JobNotFound")
    assert "spec.jobRef: Job pipeline not found" in outcome(failed_plan.status).message


def test_dependency_cycle_fails_the_run_at_once():
    assets = index(make_asset("a", "b"), make_asset("b", "a"))
    result = plan(make_run(job=None, selection={"assets": ["a"], "upstream": True}), job=None, assets=assets)
    assert result.finished and not result.launches
    assert (outcome(result.status).status, outcome(result.status).reason) == ("False", "DependencyCycle")


def test_runs_beyond_max_concurrent_runs_are_queued():
    job = make_job(selection={"assets": ["a"]}, maxConcurrentRuns=1)
    queued = plan(make_run(), job=job, earlier_unfinished_runs=1)
    assert not queued.launches and outcome(queued.status).reason == "Queued"
    assert queued.status.start_time is None
    assert plan(make_run(), job=job, earlier_unfinished_runs=0).launches


def test_a_queued_runs_status_does_not_change_as_its_place_in_the_queue_does():
    """10,000 queued Runs rewriting their status at every move of the queue were O(n^2) API writes."""
    job = make_job(selection={"assets": ["a"]}, maxConcurrentRuns=1)
    far, near = (plan(make_run(), job=job, earlier_unfinished_runs=n).status for n in (9000, 1))
    assert far.conditions == near.conditions


def test_a_finished_run_is_left_alone():
    run, _ = advance(make_run(), [failed(job_name("run-1", "a"))])
    run, result = advance(run, [failed(job_name("run-1", "a"))])
    assert result.finished
    again = plan(run, [])
    assert again.finished and not again.launches and not again.events and not again.materializations


def test_a_finished_step_stays_finished_when_its_job_disappears():
    run, _ = advance(make_run())
    run, _ = advance(run, [succeeded(job_name("run-1", "a"))])
    result = plan(run, [])
    assert step(result, "a").state == "Succeeded"
    assert [l.job_name for l in result.launches] == [job_name("run-1", "b")]


def test_contract_values_name_params_partition_and_input_locations():
    assets = index(
        make_asset("a", storage="file:///data/{namespace}/{asset}/{partition}"),
        make_asset("b", "a", storage="file:///data/{namespace}/{asset}/{partition}"),
    )
    job = make_job(selection={"assets": ["b"], "upstream": True}, paramsSchema={"properties": {"limit": {"default": 5}, "mode": {"default": "full"}}})
    run = make_run(partition="2026-01-01", params={"mode": "fast"})
    run, _ = advance(run, job=job, assets=assets)
    _, result = advance(run, [succeeded(job_name("run-1", "a"))], job=job, assets=assets)
    contract = result.launches[0].contract
    assert contract.params == {"limit": 5, "mode": "fast"}
    assert contract.partition == "2026-01-01"
    assert contract.output_uri == "file:///data/team/b/2026-01-01"
    assert contract.inputs == {"a": "file:///data/team/a/2026-01-01"}


def test_step_job_names_come_from_run_and_step():
    result = plan(make_run("nightly"))
    assert result.launches[0].job_name == step_job_name("nightly", "a")
    assert result.launches[0].job_name.startswith("nightly-a-")


def chain_job(length):
    steps = [{"name": "s0", "container": {"image": "i"}}]
    steps += [{"name": f"s{i}", "container": {"image": "i"}, "dependsOn": [f"s{i - 1}"]} for i in range(1, length)]
    return make_job(steps=steps)


def test_lost_status_writes_never_duplicate_or_lose_a_step_job():
    """A crash between creating Jobs and writing status (every third write lost) still gives one Job per step:
    a fake API server counts the Jobs each step got and every request for a Job the planner could see."""
    job = chain_job(50)
    run = make_run()
    jobs: dict[str, int] = {}  # the fake server's Jobs: name -> reconcile that created it
    creates_per_step: dict[str, int] = {}
    asks_for_seen_jobs = 0
    for attempt in range(400):
        # a Job runs for one reconcile after its creation, then succeeds
        observed = [succeeded(name) if attempt > born else running(name) for name, born in jobs.items()]
        result = plan(run, observed, job=job, now=at(attempt))
        for launch in result.launches:
            if launch.job_name in jobs:
                asks_for_seen_jobs += 1  # would be a 409 on a real server; the planner should not even ask
                continue
            jobs[launch.job_name] = attempt
            creates_per_step[launch.node.name] = creates_per_step.get(launch.node.name, 0) + 1
        if attempt % 3 != 2:
            run = with_status(run, result.status)
        if result.finished and attempt % 3 != 2:
            break
    assert outcome(run.status).status == "True"
    assert creates_per_step == {f"s{i}": 1 for i in range(50)}
    assert sorted(jobs) == sorted(job_name("run-1", f"s{i}") for i in range(50))
    assert asks_for_seen_jobs == 0


def test_status_of_the_largest_run_stays_small():
    job = make_job(steps=[{"name": f"step-{i:03}", "container": {"image": "i"}} for i in range(500)], maxParallelSteps=500)
    run, _ = advance(make_run(), job=job)
    observed = [
        succeeded(job_name("run-1", f"step-{i:03}"), result=StepResult(data_version="0123456789abcdef0123456789abcdef"))
        for i in range(500)
    ]
    _, result = advance(run, observed, job=job)
    assert result.finished
    size = len(result.status.model_dump_json(exclude_none=True))
    assert size < 256 * 1024, size


def test_explicit_steps_keep_small_metadata_in_status_and_say_when_it_is_too_big():
    from kasset.api.common import Container
    from kasset.api.run import StepStatus
    from kasset.planning.graph import StepNode
    from kasset.planning.steps import record_success

    node = StepNode(name="hello", container=Container(image="x"))
    base = StepStatus(name="hello", state="Running")
    small = record_success(node, base, observed=succeeded("j", result=StepResult(metadata={"greeting": "hi"})),
                           default_data_version="uid", keep_items=False, now=T0)
    assert small.metadata == {"greeting": "hi"} and small.message is None
    big = record_success(node, base, observed=succeeded("j", result=StepResult(metadata={"blob": "x" * 600})),
                         default_data_version="uid", keep_items=False, now=T0)
    assert big.metadata is None and "not kept in status" in big.message
    asset_node = StepNode(name="raw", asset="raw", container=Container(image="x"))
    on_asset = record_success(asset_node, base, observed=succeeded("j", result=StepResult(metadata={"a": 1})),
                              default_data_version="uid", keep_items=False, now=T0)
    assert on_asset.metadata is None  # it goes to the Asset's status instead


def test_a_job_that_exists_but_is_invalid_fails_the_run_as_invalid_job_not_job_not_found():
    result = plan(make_run(), job=None, job_problem="spec.steps.0.name: String should match pattern")
    condition = outcome(result.status)
    assert (condition.status, condition.reason) == ("False", "InvalidJob")
    assert "spec.steps.0.name" in condition.message
    assert result.launches == ()
