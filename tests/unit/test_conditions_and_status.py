"""Conditions helper, Asset and Job status planning, Run history pruning."""

from kasset.api import Run, find_condition, set_condition
from kasset.planning import apply_materialization, plan_asset_status, plan_job_status, select_runs_to_prune

from kasset_factories import T0, at, index, make_asset, make_job, materialized


def test_last_transition_time_moves_only_when_status_flips():
    conditions = set_condition([], type="Stale", status="True", reason="NeverMaterialized", message="m", now=T0, generation=1)
    same = set_condition(conditions, type="Stale", status="True", reason="UpstreamChanged", message="n", now=at(5), generation=2)
    (condition,) = same
    assert condition.last_transition_time == T0
    assert (condition.reason, condition.message, condition.observed_generation) == ("UpstreamChanged", "n", 2)
    flipped = set_condition(same, type="Stale", status="False", reason="UpToDate", message="", now=at(9), generation=2)
    assert flipped[0].last_transition_time == at(9)


def test_setting_a_condition_keeps_the_others_in_order_and_bounds_the_message():
    conditions = set_condition([], type="A", status="True", reason="R", message="", now=T0, generation=1)
    conditions = set_condition(conditions, type="B", status="False", reason="R", message="x" * 5000, now=T0, generation=1)
    conditions = set_condition(conditions, type="A", status="False", reason="R", message="", now=T0, generation=1)
    assert [c.type for c in conditions] == ["A", "B"]
    assert len(conditions[1].message) == 1024


def test_conditions_serialize_as_kubernetes_timestamps():
    (condition,) = set_condition([], type="A", status="True", reason="R", message="", now=T0, generation=None)
    assert condition.model_dump(mode="json", exclude_none=True)["lastTransitionTime"] == "2026-01-02T03:04:05Z"


def test_asset_status_reports_materialized_stale_and_resolved_dependencies():
    raw = materialized(make_asset("raw"), run="r1", data_version="v1")
    clean = make_asset("clean", "raw")
    status = plan_asset_status(clean, index(raw, clean), now=T0)
    assert find_condition(status.conditions, "DependenciesResolved").status == "True"
    assert find_condition(status.conditions, "Materialized").reason == "NeverMaterialized"
    assert (find_condition(status.conditions, "Stale").status, status.stale_reasons) == ("True", ["never materialized"])
    assert status.observed_generation == 1


def test_applying_a_materialization_records_it_and_refreshes_the_conditions():
    from kasset.api import Materialization

    raw = make_asset("raw")
    record = Materialization(run="r1", time=at(9), data_version="v1")
    status = apply_materialization(raw, record, index(raw), now=at(10))
    assert status.last_materialization == record
    assert find_condition(status.conditions, "Materialized").status == "True"
    assert find_condition(status.conditions, "Stale").status == "False"


def test_asset_with_a_missing_upstream_gets_a_false_condition_naming_it():
    status = plan_asset_status(make_asset("clean", "ghost"), index(make_asset("clean", "ghost")), now=T0)
    condition = find_condition(status.conditions, "DependenciesResolved")
    assert (condition.status, condition.reason) == ("False", "MissingDependency")
    assert "ghost" in condition.message


def test_asset_in_a_cycle_gets_a_dependency_cycle_condition():
    assets = index(make_asset("a", "b"), make_asset("b", "a"))
    condition = find_condition(plan_asset_status(assets["a"], assets, now=T0).conditions, "DependenciesResolved")
    assert (condition.status, condition.reason) == ("False", "DependencyCycle")
    assert "a -> b -> a" in condition.message


def test_job_is_ready_when_its_steps_resolve_and_not_ready_otherwise():
    assets = index(make_asset("a"))
    ready = plan_job_status(make_job(selection={"assets": ["a"]}), assets, now=T0)
    assert find_condition(ready.conditions, "Ready").status == "True"
    broken = plan_job_status(make_job(selection={"assets": ["zzz"]}), assets, now=T0)
    assert find_condition(broken.conditions, "Ready").reason == "AssetNotFound"


def finished_run(name, outcome, completed):
    return Run.model_validate(
        {
            "metadata": {"name": name, "creationTimestamp": at(completed - 1)},
            "spec": {"jobRef": {"name": "j"}},
            "status": {
                "completionTime": at(completed) if outcome != "Unknown" else None,
                "conditions": [{"type": "Succeeded", "status": outcome, "reason": "R", "lastTransitionTime": T0}],
            },
        }
    )


def test_runs_beyond_the_history_limits_are_pruned_oldest_first_and_unfinished_ones_never():
    runs = [finished_run(f"ok{i}", "True", i) for i in range(4)]
    runs += [finished_run(f"bad{i}", "False", i) for i in range(3)]
    runs += [finished_run("active", "Unknown", 0)]
    assert select_runs_to_prune(runs, successful_limit=2, failed_limit=1) == ["bad0", "bad1", "ok0", "ok1"]
