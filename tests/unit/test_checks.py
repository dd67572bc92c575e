"""Asset checks, planned without a cluster: a check step after its asset, dependants waiting for blocking
checks, a failed blocking check skipping them with its message and failing the Run (CheckFailed), a failed
non-blocking check changing nothing but the Asset, and the Asset's status.checks with ChecksPassed."""

from __future__ import annotations

from kasset.api import find_condition
from kasset.api.checks import CheckResult
from kasset.api.common import AssetSelection
from kasset.builders import build_step_job
from kasset.planning import Problem, StepResult, parse_step_result, plan_run
from kasset.planning.checks import METADATA_NOTE_KEY, apply_check_result, with_checks_passed
from kasset.planning.graph import resolve_step_graph

from kasset_factories import T0, at, failed, index, make_asset, make_run, step, succeeded, with_status


def checked(name="raw", *, blocking=True, check="rows"):
    container = {"image": "example/check:1", "command": ["check"]}
    return make_asset(name, checks=[{"name": check, "blocking": blocking, "container": container}])


def assets(blocking=True):
    return index(checked(blocking=blocking), make_asset("clean", "raw"))


def advance(run, observed=(), *, catalog):
    plan = plan_run(run=run, job=None, assets=catalog, observed={o.name: o for o in observed}, now=at(30))
    return with_status(run, plan.status), plan


def launched(plan, name):
    return next(launch for launch in plan.launches if launch.node.name == name)


def test_a_check_step_follows_its_asset_and_blocking_checks_hold_back_its_dependants():
    graph = resolve_step_graph(selection=AssetSelection(assets=["raw", "clean"]), steps=(), assets=assets(),
                               max_parallel_steps=10)
    nodes = {node.name: node for node in graph.steps}
    assert [node.name for node in graph.steps] == ["raw", "raw-check-rows", "clean"]
    assert nodes["raw-check-rows"].depends_on == ("raw",) and nodes["raw-check-rows"].check_of == "raw"
    assert set(nodes["clean"].depends_on) == {"raw", "raw-check-rows"}
    relaxed = resolve_step_graph(selection=AssetSelection(assets=["raw", "clean"]), steps=(),
                                 assets=assets(blocking=False), max_parallel_steps=10)
    assert {node.name: node for node in relaxed.steps}["clean"].depends_on == ("raw",)


def test_the_check_gets_the_assets_contract_and_output_and_its_label():
    catalog = assets()
    run = make_run("r1", job=None, selection={"assets": ["raw", "clean"]})
    run, plan = advance(run, catalog=catalog)
    raw = launched(plan, "raw")
    run, plan = advance(run, [succeeded(raw.job_name)], catalog=catalog)
    check = launched(plan, "raw-check-rows")
    assert [launch.node.name for launch in plan.launches] == ["raw-check-rows"]  # clean waits for the check
    assert (check.contract.asset, check.contract.check) == ("raw", "rows")
    assert check.contract.partition == raw.contract.partition
    assert check.contract.output_uri == raw.contract.output_uri and check.contract.inputs == {}
    job = build_step_job(check, run=run)
    assert job["metadata"]["labels"]["kasset.dev/check"] == "rows"
    assert job["spec"]["template"]["metadata"]["labels"]["kasset.dev/check"] == "rows"
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (env["KASSET_ASSET"], env["KASSET_STEP"]) == ("raw", "raw-check-rows")
    assert env["KASSET_OUTPUT_URI"] == raw.contract.output_uri
    assert "kasset.dev/check" not in build_step_job(raw, run=run)["metadata"]["labels"]


def test_a_check_step_named_like_another_step_is_an_invalid_spec_naming_the_check():
    catalog = index(checked(), make_asset("raw-check-rows"))
    problem = resolve_step_graph(selection=AssetSelection(assets=["raw", "raw-check-rows"]), steps=(),
                                 assets=catalog, max_parallel_steps=10)
    assert isinstance(problem, Problem) and problem.reason == "InvalidSpec"
    assert "Asset raw spec.checks[rows]" in problem.message and "raw-check-rows" in problem.message


def test_a_check_that_exits_0_without_a_verdict_passes_and_lets_the_dependants_start():
    catalog = assets()
    run = make_run("r1", job=None, selection={"assets": ["raw", "clean"]})
    run, plan = advance(run, catalog=catalog)
    raw_job = launched(plan, "raw").job_name
    run, plan = advance(run, [succeeded(raw_job)], catalog=catalog)
    check_job = launched(plan, "raw-check-rows").job_name
    run, plan = advance(run, [succeeded(raw_job), succeeded(check_job)], catalog=catalog)
    assert step(plan, "raw-check-rows").state == "Succeeded"
    assert [launch.node.name for launch in plan.launches] == ["clean"]
    (update,) = plan.check_results
    assert (update.result.outcome, update.result.run, update.result.message) == ("Passed", "r1", None)


def test_a_blocking_check_whose_container_fails_is_a_failed_check_with_the_failure_message():
    catalog = assets()
    run = make_run("r1", job=None, selection={"assets": ["raw", "clean"]})
    run, plan = advance(run, catalog=catalog)
    raw_job = launched(plan, "raw").job_name
    run, plan = advance(run, [succeeded(raw_job)], catalog=catalog)
    check_job = launched(plan, "raw-check-rows").job_name
    observed = [succeeded(raw_job), failed(check_job, message="table orders does not exist")]
    run, plan = advance(run, observed, catalog=catalog)
    assert step(plan, "raw-check-rows").state == "Failed"
    assert "table orders does not exist" in step(plan, "clean").message
    assert find_condition(plan.status.conditions, "Succeeded").reason == "CheckFailed"
    (update,) = plan.check_results
    assert update.result.outcome == "Failed" and "table orders does not exist" in update.result.message
    _, again = advance(run, observed, catalog=catalog)
    assert again.check_results == ()  # recorded on the edge, once


def test_check_results_keep_bounded_messages_and_metadata():
    catalog = assets(blocking=False)
    run = make_run("r1", job=None, selection={"assets": ["raw"]})
    run, plan = advance(run, catalog=catalog)
    raw_job = launched(plan, "raw").job_name
    run, plan = advance(run, [succeeded(raw_job)], catalog=catalog)
    check_job = launched(plan, "raw-check-rows").job_name
    verdict = StepResult(passed=False, message="x" * 5000, metadata={"rows": list(range(400))})
    _, plan = advance(run, [succeeded(raw_job), succeeded(check_job, result=verdict)], catalog=catalog)
    (update,) = plan.check_results
    assert len(update.result.message) <= 512 and list(update.result.metadata) == [METADATA_NOTE_KEY]


def test_a_check_verdict_is_read_from_the_termination_message():
    verdict = parse_step_result('{"passed": false, "message": "3 rows without id", "metadata": {"bad": 3}}')
    assert (verdict.passed, verdict.message, verdict.metadata, verdict.error) == (
        False, "3 rows without id", {"bad": 3}, None)
    assert parse_step_result('{"metadata": {}}').passed is None  # no verdict: a container exiting 0 passes
    wrong = parse_step_result('{"passed": "yes"}')
    assert wrong.passed is False and "passed" in wrong.error


def test_reported_partition_keys_are_read_as_a_tuple_of_strings():
    assert parse_step_result('{"partitionKeys": ["a.csv", "b.csv"]}').partition_keys == ("a.csv", "b.csv")
    assert parse_step_result('{}').partition_keys is None
    wrong = parse_step_result('{"partitionKeys": ["a.csv", 2]}')
    assert wrong.partition_keys is None and "partitionKeys" in wrong.error


def test_a_failed_blocking_check_skips_the_dependants_with_its_message_and_fails_the_run():
    catalog = assets()
    run = make_run("r1", job=None, selection={"assets": ["raw", "clean"]})
    run, plan = advance(run, catalog=catalog)
    raw_job = launched(plan, "raw").job_name
    run, plan = advance(run, [succeeded(raw_job)], catalog=catalog)
    check_job = launched(plan, "raw-check-rows").job_name
    verdict = StepResult(passed=False, message="3 rows without id", metadata={"bad": 3})
    run, plan = advance(run, [succeeded(raw_job), succeeded(check_job, result=verdict)], catalog=catalog)
    assert step(plan, "raw-check-rows").state == "Failed"
    assert step(plan, "clean").state == "Skipped"
    assert step(plan, "clean").message == "not started: blocking check rows of asset raw failed: 3 rows without id"
    outcome = find_condition(plan.status.conditions, "Succeeded")
    assert (outcome.status, outcome.reason) == ("False", "CheckFailed") and "3 rows without id" in outcome.message
    (update,) = plan.check_results
    assert (update.asset, update.result.outcome, update.result.metadata) == ("raw", "Failed", {"bad": 3})


def test_a_failed_non_blocking_check_is_recorded_and_stops_nothing():
    catalog = assets(blocking=False)
    run = make_run("r1", job=None, selection={"assets": ["raw", "clean"]})
    run, plan = advance(run, catalog=catalog)
    raw_job = launched(plan, "raw").job_name
    run, plan = advance(run, [succeeded(raw_job)], catalog=catalog)
    check_job = launched(plan, "raw-check-rows").job_name
    clean_job = launched(plan, "clean").job_name
    run, plan = advance(run, [succeeded(raw_job), failed(check_job, message="boom"), succeeded(clean_job)],
                        catalog=catalog)
    assert step(plan, "raw-check-rows").state == "Succeeded" and "check failed" in step(plan, "raw-check-rows").message
    assert find_condition(plan.status.conditions, "Succeeded").status == "True"
    (update,) = plan.check_results
    assert update.result.outcome == "Failed" and "boom" in update.result.message


def test_the_asset_keeps_each_checks_latest_result_once_and_sums_them_up_in_checks_passed():
    asset = checked()
    status = with_checks_passed(asset, asset.status, now=T0)
    assert find_condition(status.conditions, "ChecksPassed").reason == "NotRun"
    bad = CheckResult(name="rows", outcome="Failed", message="3 rows without id", run="r1", time=at(10),
                      start_time=at(5))
    status = apply_check_result(asset, bad, now=T0)
    condition = find_condition(status.conditions, "ChecksPassed")
    assert (condition.status, condition.reason) == ("False", "CheckFailed")
    assert "check rows failed: 3 rows without id" in condition.message
    recorded = asset.model_copy(update={"status": status})
    assert apply_check_result(recorded, bad, now=T0) is None  # the same Run's result, again
    older = bad.model_copy(update={"run": "r0", "start_time": at(1), "outcome": "Passed"})
    assert apply_check_result(recorded, older, now=T0) is None  # an older Run finishing late
    good = bad.model_copy(update={"run": "r2", "start_time": at(20), "outcome": "Passed", "message": None})
    assert find_condition(apply_check_result(recorded, good, now=T0).conditions, "ChecksPassed").status == "True"
    gone = recorded.model_copy(update={"spec": recorded.spec.model_copy(update={"checks": []})})
    cleared = with_checks_passed(gone, recorded.status, now=T0)
    assert cleared.checks == [] and find_condition(cleared.conditions, "ChecksPassed") is None
