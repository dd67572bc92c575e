"""Asset facts come from direct upstreams only: transitive staleness, missing and cyclic upstreams, and the
newer-wins rule for materializations."""

from datetime import timedelta

from kasset.api import Asset
from kasset.api.asset import Materialization
from kasset.planning import DictCatalog, derive_asset_facts, find_pending_cycle, supersedes
from kasset.planning.asset import apply_materialization

from kasset_factories import T0, at, index, make_asset, materialized


def chain_materialized():
    raw = materialized(make_asset("raw", code_version="1"), run="r1", data_version="v1")
    clean = materialized(make_asset("clean", "raw"), run="r1", data_version="c1",
                         lineage=[{"asset": "raw", "run": "r1", "dataVersion": "v1"}])
    report = materialized(make_asset("report", "clean"), run="r1", data_version="p1",
                          lineage=[{"asset": "clean", "run": "r1", "dataVersion": "c1"}])
    return raw, clean, report


def test_a_materialized_chain_is_fresh():
    catalog = DictCatalog(index(*chain_materialized()))
    assert [catalog.facts(n).stale for n in ("raw", "clean", "report")] == [False, False, False]


def test_staleness_is_transitive_and_each_asset_names_the_upstream_it_comes_through():
    raw, clean, report = chain_materialized()
    bumped = raw.model_copy(update={"spec": raw.spec.model_copy(update={"code_version": "2"})})
    catalog = DictCatalog(index(bumped, clean, report))
    assert catalog.facts("raw").staleness.reason == "CodeVersionChanged"
    assert catalog.facts("clean").stale and catalog.facts("clean").staleness.reason == "UpstreamStale"
    assert "upstream raw is stale" in catalog.facts("clean").staleness.message
    assert "upstream clean is stale" in catalog.facts("report").staleness.message


def test_a_missing_upstream_is_reported_downstream_through_every_level():
    catalog = DictCatalog(index(make_asset("clean", "raw"), make_asset("report", "clean")))
    assert catalog.facts("clean").problem.reason == "MissingDependency"
    problem = catalog.facts("report").problem
    assert problem.reason == "MissingDependency" and "raw" in problem.message and "via clean" in problem.message


def test_assets_on_and_downstream_of_a_cycle_get_dependency_cycle():
    catalog = DictCatalog(index(make_asset("a", "b"), make_asset("b", "a"), make_asset("c", "a"),
                                make_asset("free")))
    assert {n: catalog.facts(n).problem.reason for n in "abc"} == {n: "DependencyCycle" for n in "abc"}
    assert catalog.facts("free").problem is None


class PartialCatalog(DictCatalog):
    """A catalog where some assets have no facts yet (as in the operator, before their reconcile)."""

    def __init__(self, assets, derived=()):
        super().__init__({})
        self._assets = dict(assets)
        for asset in self._assets.values():
            for dep in asset.spec.deps:
                self._dependants.setdefault(dep.asset, set()).add(asset.metadata.name)
        for name in derived:
            self._facts[name] = derive_asset_facts(self._assets[name], self)


def test_an_asset_waits_while_an_upstream_has_no_facts_and_no_cycle_is_found():
    catalog = PartialCatalog(index(make_asset("raw"), make_asset("clean", "raw")))
    assert derive_asset_facts(catalog.get("clean"), catalog) is None
    assert find_pending_cycle("clean", catalog) is None


def test_a_cycle_among_assets_without_facts_is_found_from_any_member():
    catalog = PartialCatalog(index(make_asset("a", "b"), make_asset("b", "c"), make_asset("c", "a")))
    assert find_pending_cycle("a", catalog) == ("a", "b", "c", "a")


def record(run: str, seconds: float, *, started: float | None = None) -> Materialization:
    return Materialization(run=run, time=at(seconds), data_version=run,
                           start_time=at(started) if started is not None else None)


def test_a_newer_materialization_wins_and_an_older_one_finishing_late_does_not_overwrite_it():
    assert supersedes(record("new", 20), record("old", 10))
    assert not supersedes(record("old", 10), record("new", 20))
    older_finishing_late = record("older", 30, started=1)
    newer = record("newer", 20, started=5)
    assert not supersedes(older_finishing_late, newer)
    assert supersedes(newer, older_finishing_late)


def test_recording_the_same_runs_materialization_again_changes_nothing():
    asset = materialized(make_asset("raw"), run="r1", data_version="v1", seconds=10)
    again = asset.status.last_materialization.model_copy(update={"time": T0 + timedelta(seconds=99)})
    assert apply_materialization(asset, again, index(asset), now=at(100)) is None
    fresh = apply_materialization(asset, record("r2", 50), index(asset), now=at(100))
    assert fresh is not None and fresh.last_materialization.run == "r2"


def test_deriving_facts_of_a_namespace_costs_one_pass_over_assets_and_edges():
    assets = [make_asset(f"l0-{i}") for i in range(50)]
    for layer in range(1, 5):
        assets += [make_asset(f"l{layer}-{i}", f"l{layer - 1}-{i}", f"l{layer - 1}-{(i + 1) % 50}")
                   for i in range(50)]
    catalog = DictCatalog({a.metadata.name: a for a in assets})
    assert all(catalog.facts(a.metadata.name).problem is None for a in assets)
    assert isinstance(assets[0], Asset)
