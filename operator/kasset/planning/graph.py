"""Build a Run's step graph: the selected assets (grown upstream/downstream) plus the Job's explicit steps,
in topological order.

Asset steps depend on their upstream assets that are in the Run; upstream assets outside the Run become
*external inputs*, read from their current materialization. Problems upstream of the chosen assets come from
their derived facts (see `catalog`): resolving a graph costs the size of the selection, not of the namespace. Problems come back as `Problem` values:
AssetNotFound / MissingDependency (transient: the object may be created shortly), DependencyCycle,
InvalidSpec and TooManySteps (need a spec change).

Does not: look at Jobs or pods, or decide what to launch (see `run`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from kasset.api.asset import Asset
from kasset.api.common import AssetSelection, Container, Volume
from kasset.api.job import Job, Step
from kasset.planning.catalog import AssetCatalog, as_catalog, derive_asset_facts
from kasset.planning.checks import check_step_name
from kasset.planning.dag import Problem, order_topologically, walk
from kasset.planning.settings import PlanSettings
from kasset.planning.storage import find_unknown_placeholders


@dataclass(frozen=True)
class StepNode:
    """One step of a Run: an asset to materialize or an explicit step."""

    name: str
    container: Container
    asset: str | None = None
    depends_on: tuple[str, ...] = ()
    external_inputs: tuple[str, ...] = ()
    fan_out_from: str | None = None
    retry_limit: int = 0
    timeout_seconds: int | None = None
    volumes: tuple[Volume, ...] = ()
    storage: str = ""
    code_version: str | None = None
    check_of: str | None = None
    check: str | None = None
    blocking: bool = False


@dataclass(frozen=True)
class StepGraph:
    """The steps of a Run in topological order, and how many may run at once."""

    steps: tuple[StepNode, ...]
    max_parallel_steps: int

    def find(self, name: str) -> StepNode | None:
        return next((node for node in self.steps if node.name == name), None)

    @property
    def fan_out_sources(self) -> frozenset[str]:
        return frozenset(node.fan_out_from for node in self.steps if node.fan_out_from)


def select_assets(
    selection: AssetSelection, assets: Mapping[str, Asset] | AssetCatalog
) -> frozenset[str] | Problem:
    """The names a selection covers, grown upstream and/or downstream; AssetNotFound for unknown names, and
    the facts' MissingDependency/DependencyCycle for problems anywhere upstream of a chosen asset (so a Run of
    one asset never walks its whole upstream closure)."""
    catalog = as_catalog(assets)
    unknown = sorted(name for name in selection.assets if catalog.get(name) is None)
    if unknown:
        return Problem("AssetNotFound", f"selection.assets: Asset {', '.join(unknown)} not found", transient=True)
    chosen = set(selection.assets)
    if selection.upstream:
        chosen |= walk(selection.assets, lambda name: [d.asset for d in _deps(catalog, name)])
    if selection.downstream:
        chosen |= walk(selection.assets, catalog.dependants)
    missing = sorted(name for name in chosen if catalog.get(name) is None)
    for name in sorted(chosen - set(missing)):
        facts = catalog.facts(name) or derive_asset_facts(catalog.get(name), catalog)
        if facts is None:
            return Problem("DependenciesPending", f"Asset {name}: dependencies not derived yet", transient=True)
        if facts.problem is not None:
            return Problem(facts.problem.reason, f"Asset {name} {facts.problem.message}",
                           transient=facts.problem.transient)
    if missing:
        return Problem("MissingDependency", f"upstream Asset {', '.join(missing)} not found", transient=True)
    return frozenset(chosen)


def _deps(catalog: AssetCatalog, name: str):
    asset = catalog.get(name)
    return asset.spec.deps if asset is not None else ()


def build_asset_node(asset_name: str, asset: Asset, *, selected: frozenset[str], settings: PlanSettings) -> StepNode:
    spec = asset.spec
    deps = [dep.asset for dep in spec.deps]
    return StepNode(
        name=asset_name,
        asset=asset_name,
        container=spec.container,
        depends_on=tuple(d for d in deps if d in selected),
        external_inputs=tuple(d for d in deps if d not in selected),
        retry_limit=spec.retry.limit if spec.retry else 0,
        timeout_seconds=spec.timeout_seconds,
        volumes=tuple(spec.volumes),
        storage=spec.storage or settings.default_asset_storage,
        code_version=spec.code_version,
    )


def build_explicit_node(step: Step, *, storage: str | None, settings: PlanSettings) -> StepNode:
    depends_on = list(step.depends_on)
    if step.fan_out and step.fan_out.from_step not in depends_on:
        depends_on.append(step.fan_out.from_step)
    return StepNode(
        name=step.name,
        container=step.container,
        depends_on=tuple(depends_on),
        fan_out_from=step.fan_out.from_step if step.fan_out else None,
        retry_limit=step.retry.limit if step.retry else 0,
        timeout_seconds=step.timeout_seconds,
        volumes=tuple(step.volumes),
        storage=storage or settings.default_step_storage,
    )


def resolve_step_graph(
    *,
    selection: AssetSelection | None,
    steps: Sequence[Step],
    assets: Mapping[str, Asset] | AssetCatalog,
    max_parallel_steps: int,
    storage: str | None = None,
    settings: PlanSettings = PlanSettings(),
) -> StepGraph | Problem:
    """The step graph of a selection plus explicit steps, or the Problem that prevents it."""
    selected: frozenset[str] = frozenset()
    catalog = as_catalog(assets)
    if selection is not None:
        chosen = select_assets(selection, catalog)
        if isinstance(chosen, Problem):
            return chosen
        selected = chosen
    if len(selected) > settings.max_steps:
        return Problem("TooManySteps", f"{len(selected)} steps; a Run may have at most {settings.max_steps}")
    nodes = {name: build_asset_node(name, catalog.get(name), selected=selected, settings=settings)
             for name in sorted(selected)}
    for step in steps:
        if step.name in nodes:
            return Problem("InvalidSpec", f"spec.steps: step {step.name} has the name of a selected asset")
        nodes[step.name] = build_explicit_node(step, storage=storage, settings=settings)
    problem = add_check_nodes(nodes, catalog)
    if problem is not None:
        return problem
    return _finish_graph(nodes, max_parallel_steps=max_parallel_steps, settings=settings)


def add_check_nodes(nodes: dict[str, StepNode], assets: Mapping[str, Asset]) -> Problem | None:
    """Add the check steps of every asset step in `nodes` (in place), and make the dependants of an asset wait
    for its blocking checks; InvalidSpec when a check step's name is taken."""
    blocking: dict[str, list[str]] = {}
    for node in [n for n in nodes.values() if n.asset is not None]:
        for check in assets[node.asset].spec.checks:
            name = check_step_name(node.asset, check.name)
            if name in nodes:
                return Problem("InvalidSpec", f"Asset {node.asset} spec.checks[{check.name}]: its step name {name} "
                               "is taken by another step of the Run")
            nodes[name] = StepNode(
                name=name, container=check.container, depends_on=(node.name,), volumes=node.volumes,
                storage=node.storage, code_version=node.code_version, check_of=node.asset, check=check.name,
                blocking=check.blocking, timeout_seconds=node.timeout_seconds,
            )
            if check.blocking:
                blocking.setdefault(node.name, []).append(name)
    for name, node in list(nodes.items()):
        waits = [check for dep in node.depends_on for check in blocking.get(dep, ()) if node.check_of is None]
        if waits:
            nodes[name] = replace(node, depends_on=(*node.depends_on, *waits))
    return None


def _finish_graph(
    nodes: dict[str, StepNode], *, max_parallel_steps: int, settings: PlanSettings
) -> StepGraph | Problem:
    if len(nodes) > settings.max_steps:
        return Problem("TooManySteps", f"{len(nodes)} steps; a Run may have at most {settings.max_steps}")
    for node in nodes.values():
        problem = _check_node(node, nodes)
        if problem is not None:
            return problem
    order = order_topologically({name: node.depends_on for name, node in nodes.items()})
    if isinstance(order, Problem):
        return order
    return StepGraph(steps=tuple(nodes[name] for name in order), max_parallel_steps=max_parallel_steps)


def _check_node(node: StepNode, nodes: Mapping[str, StepNode]) -> Problem | None:
    where = f"Asset {node.name} spec.storage" if node.asset or node.check_of else f"spec.steps[{node.name}]"
    unknown = find_unknown_placeholders(node.storage)
    if unknown:
        return Problem("InvalidSpec", f"{where}: unknown placeholder {', '.join(unknown)} in {node.storage}")
    if node.asset is None and node.check_of is None:
        absent = [dep for dep in node.depends_on if dep not in nodes]
        if absent:
            return Problem(
                "MissingDependency", f"{where}.dependsOn: {', '.join(absent)} is neither a step nor a selected asset"
            )
    if node.fan_out_from is not None:
        source = nodes.get(node.fan_out_from)
        if source is not None and source.fan_out_from is not None:
            return Problem("InvalidSpec", f"{where}.fanOut.fromStep: {source.name} is itself a fan-out step")
    return None


def resolve_job_graph(job: Job, assets: Mapping[str, Asset] | AssetCatalog, *, settings: PlanSettings) -> StepGraph | Problem:
    """The step graph of a Job: its asset selection plus its explicit steps."""
    return resolve_step_graph(
        selection=job.spec.selection,
        steps=job.spec.steps,
        assets=assets,
        max_parallel_steps=job.spec.max_parallel_steps,
        storage=job.spec.storage,
        settings=settings,
    )
