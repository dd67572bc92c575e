"""Build a Run's step graph: the selected assets (grown upstream/downstream) plus the Job's explicit steps,
in topological order.

Asset steps depend on their upstream assets that are in the Run; upstream assets outside the Run become
*external inputs*, read from their current materialization. Problems come back as `Problem` values:
AssetNotFound / MissingDependency (transient: the object may be created shortly), DependencyCycle,
InvalidSpec and TooManySteps (need a spec change).

Does not: look at Jobs or pods, or decide what to launch (see `run`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kasset.api.asset import Asset
from kasset.api.common import AssetSelection, Container, Volume
from kasset.api.job import Job, Step
from kasset.planning.dag import Problem, collect_downstream, collect_upstream, find_cycle, order_topologically
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


def dependency_graph(assets: Mapping[str, Asset]) -> dict[str, tuple[str, ...]]:
    """asset name → names of the assets it depends on, for every asset of the namespace."""
    return {name: tuple(dep.asset for dep in asset.spec.deps) for name, asset in assets.items()}


def select_assets(selection: AssetSelection, assets: Mapping[str, Asset]) -> frozenset[str] | Problem:
    """The names a selection covers, grown upstream and/or downstream; AssetNotFound for unknown names."""
    unknown = sorted(name for name in selection.assets if name not in assets)
    if unknown:
        return Problem("AssetNotFound", f"selection.assets: Asset {', '.join(unknown)} not found", transient=True)
    graph = dependency_graph(assets)
    chosen = set(selection.assets)
    if selection.upstream:
        chosen |= collect_upstream(graph, selection.assets)
    if selection.downstream:
        chosen |= collect_downstream(graph, selection.assets)
    missing = sorted(name for name in chosen if name not in assets)
    if missing:
        return Problem("MissingDependency", f"upstream Asset {', '.join(missing)} not found", transient=True)
    # An upstream cycle leaves the lineage of every asset downstream of it undefined, selected or not.
    closure = collect_upstream(graph, chosen)
    cycle = find_cycle({name: graph.get(name, ()) for name in closure})
    if cycle:
        return Problem("DependencyCycle", f"dependency cycle among Assets: {' -> '.join(cycle)}")
    return frozenset(chosen)


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
    assets: Mapping[str, Asset],
    max_parallel_steps: int,
    storage: str | None = None,
    settings: PlanSettings = PlanSettings(),
) -> StepGraph | Problem:
    """The step graph of a selection plus explicit steps, or the Problem that prevents it."""
    selected: frozenset[str] = frozenset()
    if selection is not None:
        chosen = select_assets(selection, assets)
        if isinstance(chosen, Problem):
            return chosen
        selected = chosen
    nodes = {name: build_asset_node(name, assets[name], selected=selected, settings=settings) for name in selected}
    for node in nodes.values():
        missing = [dep for dep in node.external_inputs if dep not in assets]
        if missing:
            message = f"Asset {node.name} spec.deps: Asset {', '.join(missing)} not found"
            return Problem("MissingDependency", message, transient=True)
    for step in steps:
        if step.name in nodes:
            return Problem("InvalidSpec", f"spec.steps: step {step.name} has the name of a selected asset")
        nodes[step.name] = build_explicit_node(step, storage=storage, settings=settings)
    return _finish_graph(nodes, max_parallel_steps=max_parallel_steps, settings=settings)


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
    where = f"Asset {node.name} spec.storage" if node.asset else f"spec.steps[{node.name}]"
    unknown = find_unknown_placeholders(node.storage)
    if unknown:
        return Problem("InvalidSpec", f"{where}: unknown placeholder {', '.join(unknown)} in {node.storage}")
    if node.asset is None:
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


def resolve_job_graph(job: Job, assets: Mapping[str, Asset], *, settings: PlanSettings) -> StepGraph | Problem:
    """The step graph of a Job: its asset selection plus its explicit steps."""
    return resolve_step_graph(
        selection=job.spec.selection,
        steps=job.spec.steps,
        assets=assets,
        max_parallel_steps=job.spec.max_parallel_steps,
        storage=job.spec.storage,
        settings=settings,
    )
