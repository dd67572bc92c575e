"""Pure planning: what the operator should do, given what it wants and what it observed, and the time.

Every function here is deterministic, takes the clock as an argument (`now`) and imports neither kopf nor the
Kubernetes client. Problems with the input (a cycle, a missing dependency) come back as typed values
(`Problem`), never as exceptions, so that reconcilers turn them into conditions.

Entry points:
- `plan_run`          a Run: which step Jobs to create, the new status, materializations, eager follow-ups
- `derive_asset_facts` an Asset's facts (resolved? stale?) from its direct upstreams' facts
- `plan_asset_status` an Asset: Materialized / Stale / DependenciesResolved conditions and stale reasons
- `apply_materialization` an Asset's status after a Run materialized it (newer wins, exactly once)
- `plan_job_status`   a Job: the Ready condition (does it resolve to a DAG?)
- `plan_eager_runs`   Runs for Eager assets downstream of fresh materializations
- `select_runs_to_prune` finished Runs beyond a Job's history limits
- `parse_step_result` the termination message of a step pod
"""

from kasset.planning.asset import apply_materialization, plan_asset_status, supersedes
from kasset.planning.catalog import AssetCatalog, AssetFacts, DictCatalog, derive_asset_facts, find_pending_cycle
from kasset.planning.job import plan_job_status
from kasset.planning.automation import plan_eager_runs
from kasset.planning.dag import Problem
from kasset.planning.history import select_runs_to_prune
from kasset.planning.model import ObservedJob, PlanEvent, RunPlan, RunRequest, StepContract, StepLaunch
from kasset.planning.names import sanitize_label_value, step_job_name
from kasset.planning.results import StepResult, parse_step_result
from kasset.planning.run import plan_run
from kasset.planning.settings import PlanSettings
from kasset.planning.staleness import Staleness, assess_staleness

__all__ = [
    "AssetCatalog",
    "AssetFacts",
    "DictCatalog",
    "derive_asset_facts",
    "find_pending_cycle",
    "supersedes",
    "ObservedJob",
    "PlanEvent",
    "PlanSettings",
    "Problem",
    "RunPlan",
    "RunRequest",
    "StepContract",
    "StepLaunch",
    "StepResult",
    "Staleness",
    "apply_materialization",
    "assess_staleness",
    "parse_step_result",
    "plan_asset_status",
    "plan_eager_runs",
    "plan_job_status",
    "plan_run",
    "sanitize_label_value",
    "select_runs_to_prune",
    "step_job_name",
]
