"""What the planners know about a namespace's Assets, and the facts derived from each one's direct upstreams.

An `AssetCatalog` answers three questions in O(1): the Asset of a name, the names that depend on it, and its
derived `AssetFacts` (are its upstreams resolved, is it stale, and which materialization it holds). The
operator's watch-fed cache implements it; `DictCatalog` builds one from a plain mapping (unit tests, the
in-process benchmark, small tools).

Facts are defined recursively through *direct* upstreams only — an asset is unresolved when an upstream is
missing or unresolved, stale when an upstream is stale or moved on since it was consumed — so the operator
re-derives one asset from its deps' facts (O(deps)) and propagates to its dependants only when its facts change.

Does not: read the API, write status (see `asset`), or order a Run's steps (see `graph`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from kasset.api.asset import Asset
from kasset.planning.dag import Problem, find_cycle, order_dependencies_first
from kasset.planning.partitions import check_mapping
from kasset.planning.staleness import Staleness, assess_staleness


@dataclass(frozen=True)
class AssetFacts:
    """Derived facts of one Asset. `problem` covers its whole upstream closure (MissingDependency,
    DependencyCycle); `held` identifies the materialization it holds (dependants compare their lineage to it)."""

    problem: Problem | None
    staleness: Staleness
    held: tuple[str, str, str] | None = None

    @property
    def stale(self) -> bool:
        return self.staleness.stale


class AssetCatalog(Protocol):
    def get(self, name: str) -> Asset | None: ...

    def __getitem__(self, name: str) -> Asset: ...

    def facts(self, name: str) -> AssetFacts | None: ...

    def dependants(self, name: str) -> Iterable[str]: ...


def held_materialization(asset: Asset) -> tuple[str, str, str] | None:
    last = asset.status.last_materialization
    return None if last is None else (last.run, last.data_version, last.partition or "")


def derive_asset_facts(asset: Asset, catalog: AssetCatalog) -> AssetFacts | None:
    """Facts of `asset` from its direct upstreams' facts; None while an existing upstream has none yet (it is
    being derived, or it sits on a cycle: see `find_pending_cycle`)."""
    problem: Problem | None = None
    stale_upstreams: list[tuple[str, Staleness]] = []
    upstream_assets: dict[str, Asset] = {}
    for dep in asset.spec.deps:
        upstream = catalog.get(dep.asset)
        if upstream is None:
            problem = problem or Problem("MissingDependency", f"spec.deps: upstream Asset {dep.asset} not found",
                                         transient=True, subject=dep.asset)
            continue
        facts = catalog.facts(dep.asset)
        if facts is None or _outdated(facts, catalog):
            return None
        upstream_assets[dep.asset] = upstream
        problem = problem or mapping_problem(asset, dep, upstream)
        if facts.problem is not None and problem is None:
            problem = _inherit(dep.asset, facts.problem)
        if facts.stale:
            stale_upstreams.append((dep.asset, facts.staleness))
    staleness = assess_staleness(asset, upstream_assets, stale_upstreams=stale_upstreams)
    return AssetFacts(problem=problem, staleness=staleness, held=held_materialization(asset))


def mapping_problem(asset: Asset, dep, upstream: Asset) -> Problem | None:
    """InvalidPartitionMapping when `dep`'s partition mapping cannot map the two assets' partitions."""
    if asset.spec.partitions is None and upstream.spec.partitions is None:
        return None
    message = check_mapping(dep.partition_mapping, downstream=asset.spec.partitions,
                            upstream=upstream.spec.partitions)
    if message is None:
        return None
    return Problem("InvalidPartitionMapping", f"spec.deps[{dep.asset}].partitionMapping: {message}")


def _outdated(facts: AssetFacts, catalog: AssetCatalog) -> bool:
    """Facts blaming an asset that exists by now are being re-derived: they must not spread (in a cycle
    they would otherwise feed on each other)."""
    subject = facts.problem.subject if facts.problem is not None else None
    return subject is not None and catalog.get(subject) is not None


def _inherit(upstream: str, problem: Problem) -> Problem:
    """An upstream's problem as seen downstream: the root cause, and the direct upstream it comes through."""
    if problem.reason == "DependencyCycle":
        return problem
    root = problem.message.split(" (via ")[0]
    return Problem(problem.reason, f"{root} (via {upstream})", transient=problem.transient, subject=problem.subject)


def cycle_facts(asset: Asset, cycle: tuple[str, ...]) -> AssetFacts:
    """Facts of an asset on (or downstream of) a dependency cycle."""
    problem = Problem("DependencyCycle", "spec.deps: dependency cycle " + " -> ".join(cycle))
    return AssetFacts(problem=problem, staleness=assess_staleness(asset, {}), held=held_materialization(asset))


def find_pending_cycle(start: str, catalog: AssetCatalog, *, limit: int = 100_000) -> tuple[str, ...] | None:
    """A dependency cycle among existing assets without facts reachable from `start`, or None. Only the region
    of assets without facts is explored, which is empty in a settled namespace."""
    region: dict[str, tuple[str, ...]] = {}
    stack = [start]
    while stack and len(region) < limit:
        name = stack.pop()
        if name in region:
            continue
        asset = catalog.get(name)
        if asset is None or (name != start and catalog.facts(name) is not None):
            continue
        deps = tuple(dep.asset for dep in asset.spec.deps)
        region[name] = deps
        stack.extend(deps)
    return find_cycle(region)


class DictCatalog:
    """A catalog over a plain mapping: dependants indexed and every Asset's facts derived once, in
    dependency order (O(assets + edges))."""

    def __init__(self, assets: Mapping[str, Asset]):
        self._assets = dict(assets)
        self._dependants: dict[str, set[str]] = {}
        for name, asset in self._assets.items():
            for dep in asset.spec.deps:
                self._dependants.setdefault(dep.asset, set()).add(name)
        self._facts: dict[str, AssetFacts] = {}
        derive_all_facts(self)

    def get(self, name: str) -> Asset | None:
        return self._assets.get(name)

    def __getitem__(self, name: str) -> Asset:
        return self._assets[name]

    def facts(self, name: str) -> AssetFacts | None:
        return self._facts.get(name)

    def dependants(self, name: str) -> Iterable[str]:
        return self._dependants.get(name, ())

    def names(self) -> Iterable[str]:
        return self._assets.keys()

    def set_facts(self, name: str, facts: AssetFacts) -> None:
        self._facts[name] = facts


def derive_all_facts(catalog: DictCatalog) -> dict[str, AssetFacts]:
    """Facts of every asset of `catalog`, upstreams first; assets on or downstream of a cycle get DependencyCycle."""
    graph = {name: tuple(d.asset for d in catalog.get(name).spec.deps) for name in catalog.names()}
    ordered, blocked = order_dependencies_first(graph)
    for name in ordered:
        catalog.set_facts(name, derive_asset_facts(catalog.get(name), catalog))
    if blocked:
        cycle = find_cycle({name: graph[name] for name in blocked}) or tuple(sorted(blocked))
        for name in sorted(blocked):
            catalog.set_facts(name, cycle_facts(catalog.get(name), cycle))
    return {name: catalog.facts(name) for name in catalog.names()}


def as_catalog(assets: Mapping[str, Asset] | AssetCatalog) -> AssetCatalog:
    """`assets` itself when it is a catalog, else a DictCatalog over the mapping."""
    if hasattr(assets, "facts") and hasattr(assets, "dependants"):
        return assets  # type: ignore[return-value]
    return DictCatalog(assets)  # type: ignore[arg-type]
