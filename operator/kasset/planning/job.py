"""Plan a Job's status: `Ready` is True when its selection and steps resolve to a DAG and its paramsSchema is
a valid JSON Schema, else False with the reason (AssetNotFound, MissingDependency, DependencyCycle,
InvalidSpec, TooManySteps) and a message naming the field.

Does not: write status, or plan Runs of the Job (see `run`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from kasset.api.asset import Asset
from kasset.api.conditions import set_condition
from kasset.api.job import Job, JobStatus
from kasset.api.contract import READY
from kasset.planning.catalog import AssetCatalog
from kasset.planning.dag import Problem
from kasset.planning.graph import resolve_job_graph
from kasset.planning.params import check_params_schema
from kasset.planning.settings import PlanSettings


def plan_job_status(
    job: Job, assets: Mapping[str, Asset] | AssetCatalog, *, now: datetime, settings: PlanSettings = PlanSettings()
) -> JobStatus:
    """The Job's new status: Ready True when it resolves, else False with why."""
    generation = job.metadata.generation
    graph = check_params_schema(job.spec.params_schema) or resolve_job_graph(job, assets, settings=settings)
    if isinstance(graph, Problem):
        status, reason, message = "False", graph.reason, graph.message
    else:
        status, reason, message = "True", "Resolved", f"{len(graph.steps)} steps"
    conditions = set_condition(job.status.conditions, type=READY, status=status, reason=reason, message=message,
                               now=now, generation=generation)
    return job.status.model_copy(update={"conditions": conditions, "observed_generation": generation})
