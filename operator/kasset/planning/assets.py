"""Plan the status of Assets and Jobs: conditions computed from the spec and the other objects.

Asset conditions: `DependenciesResolved` (every upstream exists, no cycle upstream), `Materialized`, and
`Stale` with `staleReasons`. Job condition: `Ready` (the selection and steps resolve to a DAG).
`lastMaterialization` is not decided here: the Run planner records it when an asset step succeeds.

Does not: write status (the reconcilers do).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from kasset.api.asset import Asset, AssetStatus, Materialization
from kasset.api.base import format_timestamp
from kasset.api.conditions import set_condition
from kasset.api.job import Job, JobStatus
from kasset.planning.dag import Problem, collect_upstream, find_cycle
from kasset.planning.graph import dependency_graph, resolve_job_graph
from kasset.planning.settings import PlanSettings
from kasset.planning.staleness import assess_staleness


def check_asset_dependencies(name: str, assets: Mapping[str, Asset]) -> Problem | None:
    """MissingDependency or DependencyCycle among the assets upstream of `name`, else None."""
    graph = dependency_graph(assets)
    upstream = collect_upstream(graph, [name])
    missing = sorted(dep for dep in upstream if dep not in assets)
    if missing:
        return Problem("MissingDependency", f"spec.deps: upstream Asset {', '.join(missing)} not found", transient=True)
    cycle = find_cycle({node: graph[node] for node in upstream})
    if cycle is not None:
        return Problem("DependencyCycle", "spec.deps: dependency cycle " + " -> ".join(cycle))
    return None


def plan_asset_status(asset: Asset, assets: Mapping[str, Asset], *, now: datetime) -> AssetStatus:
    """The Asset's new status (conditions, staleReasons, observedGeneration), lastMaterialization unchanged."""
    generation = asset.metadata.generation
    conditions = list(asset.status.conditions)
    problem = check_asset_dependencies(asset.metadata.name, assets)
    if problem is None:
        conditions = set_condition(
            conditions, type="DependenciesResolved", status="True", reason="Resolved",
            message="every upstream asset exists", now=now, generation=generation,
        )
    else:
        conditions = set_condition(
            conditions, type="DependenciesResolved", status="False", reason=problem.reason,
            message=problem.message, now=now, generation=generation,
        )
    last = asset.status.last_materialization
    if last is None:
        conditions = set_condition(
            conditions, type="Materialized", status="False", reason="NeverMaterialized",
            message="no Run has materialized the asset yet", now=now, generation=generation,
        )
    else:
        conditions = set_condition(
            conditions, type="Materialized", status="True", reason="Materialized",
            message=f"materialized by run {last.run} at {format_timestamp(last.time)}", now=now, generation=generation,
        )
    staleness = assess_staleness(asset, assets)
    conditions = set_condition(
        conditions, type="Stale", status="True" if staleness.stale else "False", reason=staleness.reason,
        message=staleness.message, now=now, generation=generation,
    )
    return asset.status.model_copy(
        update={"conditions": conditions, "observed_generation": generation, "stale_reasons": list(staleness.reasons)}
    )


def apply_materialization(
    asset: Asset, materialization: Materialization, assets: Mapping[str, Asset], *, now: datetime
) -> AssetStatus:
    """The Asset's status with `materialization` recorded and its conditions recomputed (one status write)."""
    status = asset.status.model_copy(update={"last_materialization": materialization})
    updated = asset.model_copy(update={"status": status})
    return plan_asset_status(updated, {**assets, asset.metadata.name: updated}, now=now)


def plan_job_status(
    job: Job, assets: Mapping[str, Asset], *, now: datetime, settings: PlanSettings = PlanSettings()
) -> JobStatus:
    """The Job's new status: Ready True when its selection and steps resolve to a DAG, else False with why."""
    generation = job.metadata.generation
    graph = resolve_job_graph(job, assets, settings=settings)
    if isinstance(graph, Problem):
        conditions = set_condition(
            job.status.conditions, type="Ready", status="False", reason=graph.reason,
            message=graph.message, now=now, generation=generation,
        )
    else:
        conditions = set_condition(
            job.status.conditions, type="Ready", status="True", reason="Resolved",
            message=f"{len(graph.steps)} steps", now=now, generation=generation,
        )
    return job.status.model_copy(update={"conditions": conditions, "observed_generation": generation})
