from kasset.api import AssetSelection, Step
from kasset.planning import PlanSettings, Problem
from kasset.planning.graph import StepGraph, resolve_step_graph, select_assets

from kasset_factories import index, make_asset

CHAIN = index(make_asset("raw"), make_asset("clean", "raw"), make_asset("report", "clean"), make_asset("other"))


def resolve(selection=None, steps=(), assets=CHAIN, **kwargs):
    return resolve_step_graph(
        selection=AssetSelection.model_validate(selection) if selection else None,
        steps=[Step.model_validate(s) for s in steps],
        assets=assets,
        max_parallel_steps=kwargs.pop("max_parallel_steps", 4),
        **kwargs,
    )


def test_selection_grows_upstream_and_downstream():
    assert select_assets(AssetSelection(assets=["clean"], upstream=True), CHAIN) == {"raw", "clean"}
    assert select_assets(AssetSelection(assets=["clean"], downstream=True), CHAIN) == {"clean", "report"}
    assert select_assets(AssetSelection(assets=["clean"]), CHAIN) == {"clean"}


def test_asset_steps_come_in_dependency_order():
    graph = resolve({"assets": ["report"], "upstream": True})
    assert isinstance(graph, StepGraph)
    assert [node.name for node in graph.steps] == ["raw", "clean", "report"]
    assert graph.find("clean").depends_on == ("raw",)


def test_upstream_outside_the_selection_becomes_an_external_input():
    graph = resolve({"assets": ["clean"]})
    node = graph.find("clean")
    assert node.depends_on == () and node.external_inputs == ("raw",)


def test_unknown_selected_asset_is_a_transient_problem():
    problem = resolve({"assets": ["ghost"]})
    assert isinstance(problem, Problem)
    assert (problem.reason, problem.transient) == ("AssetNotFound", True)
    assert "ghost" in problem.message


def test_missing_upstream_asset_is_reported_as_missing_dependency():
    assets = index(make_asset("b", "a"))
    problem = resolve({"assets": ["b"]}, assets=assets)
    assert problem.reason == "MissingDependency" and "a" in problem.message
    assert resolve({"assets": ["b"], "upstream": True}, assets=assets).reason == "MissingDependency"


def test_asset_cycle_is_reported_as_dependency_cycle():
    assets = index(make_asset("a", "b"), make_asset("b", "a"))
    problem = resolve({"assets": ["a"], "upstream": True}, assets=assets)
    assert problem.reason == "DependencyCycle"
    assert "a -> b -> a" in problem.message


def test_explicit_steps_may_depend_on_selected_assets_and_fan_out_implies_a_dependency():
    graph = resolve(
        {"assets": ["raw"]},
        steps=[
            {"name": "list", "container": {"image": "i"}, "dependsOn": ["raw"]},
            {"name": "each", "container": {"image": "i"}, "fanOut": {"fromStep": "list"}},
        ],
    )
    assert [node.name for node in graph.steps] == ["raw", "list", "each"]
    assert graph.find("each").depends_on == ("list",)
    assert graph.fan_out_sources == {"list"}


def test_step_depending_on_an_unknown_step_is_a_permanent_problem():
    problem = resolve(steps=[{"name": "a", "container": {"image": "i"}, "dependsOn": ["nope"]}])
    assert problem.reason == "MissingDependency" and not problem.transient
    assert "spec.steps[a].dependsOn" in problem.message


def test_step_named_like_a_selected_asset_is_invalid():
    problem = resolve({"assets": ["raw"]}, steps=[{"name": "raw", "container": {"image": "i"}}])
    assert problem.reason == "InvalidSpec"


def test_unknown_storage_placeholder_names_the_field():
    assets = index(make_asset("raw", storage="file:///data/{bucket}/{asset}"))
    problem = resolve({"assets": ["raw"]}, assets=assets)
    assert problem.reason == "InvalidSpec"
    assert "spec.storage" in problem.message and "bucket" in problem.message


def test_too_many_steps_is_refused_to_keep_status_bounded():
    steps = [{"name": f"s{i}", "container": {"image": "i"}} for i in range(4)]
    problem = resolve(steps=steps, settings=PlanSettings(max_steps=3))
    assert problem.reason == "TooManySteps"


def test_nested_fan_out_is_invalid():
    steps = [
        {"name": "a", "container": {"image": "i"}},
        {"name": "b", "container": {"image": "i"}, "fanOut": {"fromStep": "a"}},
        {"name": "c", "container": {"image": "i"}, "fanOut": {"fromStep": "b"}},
    ]
    assert resolve(steps=steps).reason == "InvalidSpec"


def test_cycle_upstream_of_a_selected_asset_is_reported_even_when_not_selected():
    assets = index(make_asset("a", "b"), make_asset("b", "a"), make_asset("c", "a"))
    problem = select_assets(AssetSelection(assets=["c"]), assets)
    assert problem.reason == "DependencyCycle"
    assert "a -> b -> a" in problem.message or "b -> a -> b" in problem.message
