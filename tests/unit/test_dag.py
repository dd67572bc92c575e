from kasset.planning.dag import (
    Problem,
    collect_upstream,
    find_cycle,
    find_missing_dependencies,
    order_topologically,
)


def test_topological_order_puts_dependencies_first_and_breaks_ties_by_name():
    graph = {"report": ["clean", "dims"], "clean": ["raw"], "dims": [], "raw": []}
    assert order_topologically(graph) == ("dims", "raw", "clean", "report")


def test_topological_order_is_the_same_whatever_the_input_order():
    a = {"c": ["a"], "b": ["a"], "a": []}
    b = {"a": [], "b": ["a"], "c": ["a"]}
    assert order_topologically(a) == order_topologically(b) == ("a", "b", "c")


def test_cycle_is_reported_with_its_path():
    graph = {"a": ["c"], "b": ["a"], "c": ["b"], "d": []}
    assert find_cycle(graph) == ("a", "c", "b", "a")
    problem = order_topologically(graph)
    assert isinstance(problem, Problem)
    assert problem.reason == "DependencyCycle"
    assert "a -> c -> b -> a" in problem.message
    assert not problem.transient


def test_self_dependency_is_a_cycle():
    assert find_cycle({"a": ["a"]}) == ("a", "a")


def test_diamond_is_not_a_cycle():
    assert find_cycle({"top": ["l", "r"], "l": ["base"], "r": ["base"], "base": []}) is None


def test_missing_dependency_names_node_and_dependency():
    problem = order_topologically({"a": ["ghost"], "b": []})
    assert isinstance(problem, Problem)
    assert problem.reason == "MissingDependency"
    assert "a depends on ghost" in problem.message
    assert find_missing_dependencies({"a": []}) is None


def test_long_chain_does_not_recurse():
    graph = {f"n{i}": [f"n{i - 1}"] if i else [] for i in range(5000)}
    order = order_topologically(graph)
    assert not isinstance(order, Problem)
    assert order[0] == "n0" and len(order) == 5000


def test_upstream_closure_includes_the_roots():
    graph = {"a": [], "b": ["a"], "c": ["b"], "x": []}
    assert collect_upstream(graph, ["c"]) == {"a", "b", "c"}
