"""Plan one reconcile of a Run: which step Jobs to create now, the Run's new status, the materializations to
record on Assets, and the eager follow-up Runs.

Policy, in short:
- Steps start when every dependency succeeded, in topological order, at most `maxParallelSteps` running (a
  fan-out step is one Indexed Job with `parallelism = min(items, maxParallelSteps)` and counts as one step).
- Fail fast: after a step fails, nothing new starts; steps not started become Skipped; running steps finish.
  The Run then gets Succeeded=False with reason StepFailed and the step's own message.
- A missing Job or Asset is waited for (`missingReferenceGraceSeconds` after creation), then fails the Run;
  a cycle, an invalid spec, an invalid Job or params that its paramsSchema refuses fail it at once, before
  any step runs.
- The step graph is re-resolved on every reconcile (level-based); editing Assets mid-run affects only steps
  not launched yet. A step's final state in status is never revised.

Does not: talk to the API, build manifests (see `kasset.builders`), or judge staleness.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from kasset.api.asset import Asset
from kasset.api.base import ensure_utc
from kasset.api.conditions import find_condition
from kasset.api.job import Job
from kasset.api.run import TERMINAL_STATES, Run, StepStatus
from kasset.api.base import truncate_message
from kasset.planning.automation import plan_eager_runs
from kasset.planning.checks import describe_blocking_failure, plan_check_results
from kasset.planning.catalog import AssetCatalog, as_catalog
from kasset.planning.stepcontract import build_step_contract, resolve_params
from kasset.planning.dag import Problem
from kasset.planning.graph import StepGraph, StepNode, resolve_job_graph, resolve_step_graph
from kasset.planning.model import ObservedJob, PlanEvent, RunPlan, RunRequest, StepContract, StepLaunch
from kasset.planning.names import step_job_name
from kasset.planning.partitionrecords import plan_partition_records, reported_metadata, reported_partition_keys
from kasset.planning.runpartitions import (
    RecordsOf,
    RunPartitions,
    definition_key,
    no_records,
    resolve_run_partitions,
)
from kasset.planning.params import check_params_schema, validate_params
from kasset.planning.runstatus import SUCCEEDED, assemble_status, record_materializations, with_outcome
from kasset.planning.settings import PlanSettings
from kasset.planning.steps import observe_step, settle_pending


def is_run_finished(run: Run) -> bool:
    """True once the Run's Succeeded condition is True or False."""
    outcome = find_condition(run.status.conditions, SUCCEEDED)
    return outcome is not None and outcome.status != "Unknown"


def resolve_run_graph(
    *, run: Run, job: Job | None, assets: AssetCatalog, settings: PlanSettings, job_problem: str | None = None
) -> StepGraph | Problem:
    """The step graph of the Run's Job (JobNotFound if it is absent, InvalidJob if it exists but its spec is
    invalid) or of its ad-hoc selection. A Run of a Job also gets its params checked against paramsSchema."""
    if run.spec.job_ref is not None:
        name = run.spec.job_ref.name
        if job_problem is not None:
            return Problem("InvalidJob", f"spec.jobRef: Job {name} is invalid: {job_problem}")
        if job is None:
            return Problem("JobNotFound", f"spec.jobRef: Job {name} not found", transient=True)
        schema_problem = check_params_schema(job.spec.params_schema)
        if schema_problem is not None:
            return Problem("InvalidJob", f"spec.jobRef: Job {name} {schema_problem.message}")
        params_problem = validate_params(resolve_params(run, job), job.spec.params_schema)
        if params_problem is not None:
            return params_problem
        return resolve_job_graph(job, assets, settings=settings)
    if run.spec.selection is None:
        return Problem("InvalidSpec", "exactly one of spec.jobRef and spec.selection must be set")
    return resolve_step_graph(
        selection=run.spec.selection, steps=(), assets=assets,
        max_parallel_steps=settings.default_max_parallel_steps, settings=settings,
    )


def plan_run(
    *,
    run: Run,
    job: Job | None,
    assets: Mapping[str, Asset] | AssetCatalog,
    observed: Mapping[str, ObservedJob],
    now: datetime,
    earlier_unfinished_runs: int = 0,
    settings: PlanSettings = PlanSettings(),
    job_problem: str | None = None,
    records: RecordsOf = no_records,
) -> RunPlan:
    """Plan the Run. `job`: the Job named by spec.jobRef (None if absent or not referenced; `job_problem` says
    why it is invalid when it exists but does not parse); `assets`: the namespace's Assets (a catalog, or a
    mapping by name); `observed`: the Run's step Jobs by name; `earlier_unfinished_runs`: other unfinished Runs
    of the same Job created earlier (for maxConcurrentRuns); `records`: an asset's partition records by key."""
    now = ensure_utc(now)
    if is_run_finished(run):
        status = run.status.model_copy(update={"observed_generation": run.metadata.generation})
        return RunPlan(status=status, finished=True)
    assets = as_catalog(assets)
    graph = resolve_run_graph(run=run, job=job, assets=assets, settings=settings, job_problem=job_problem)
    if isinstance(graph, Problem):
        return plan_problem(run, graph, now=now, settings=settings)
    partitions = resolve_run_partitions(run, assets, asset_names=[n.asset for n in graph.steps if n.asset],
                                        now=now, records=records)
    if isinstance(partitions, Problem):
        return plan_problem(run, partitions, now=now, settings=settings)
    limit = job.spec.max_concurrent_runs if job is not None and run.spec.job_ref is not None else None
    if run.status.start_time is None and limit is not None and earlier_unfinished_runs >= limit:
        # no count or place in the message: a queued Run's status must not change each time the queue moves
        message = f"waiting for a slot: {limit} earlier Runs of Job {job.metadata.name} unfinished " \
                  f"(maxConcurrentRuns {limit})"
        status = with_outcome(run, "Unknown", "Queued", message, now=now)
        return RunPlan(status=status, requeue_after=settings.requeue_seconds)
    return plan_steps(run, job=job, graph=graph, assets=assets, observed=observed, now=now, settings=settings,
                      partitions=partitions, records=records)


def plan_problem(run: Run, problem: Problem, *, now: datetime, settings: PlanSettings) -> RunPlan:
    """Wait for a transient problem within the grace period; otherwise fail the Run with the problem's reason."""
    created = run.metadata.creation_timestamp or now
    waited = (now - created).total_seconds()
    if problem.transient and waited < settings.missing_reference_grace_seconds:
        message = f"{problem.message} (waiting up to {settings.missing_reference_grace_seconds:g}s)"
        status = with_outcome(run, "Unknown", problem.reason, message, now=now)
        return RunPlan(status=status, requeue_after=settings.requeue_seconds)
    status = with_outcome(run, "False", problem.reason, problem.message, now=now)
    status = status.model_copy(update={"completion_time": now})
    return RunPlan(status=status, finished=True, events=(PlanEvent("Warning", problem.reason, problem.message),))


def plan_steps(
    run: Run,
    *,
    job: Job | None,
    graph: StepGraph,
    assets: Mapping[str, Asset],
    observed: Mapping[str, ObservedJob],
    now: datetime,
    settings: PlanSettings,
    partitions: RunPartitions,
    records: RecordsOf = no_records,
) -> RunPlan:
    """Observe every step, settle the pending ones, launch what fits, and assemble the status."""
    prior = {step.name: step for step in run.status.steps}
    statuses = observe_steps(run, graph=graph, observed=observed, now=now)
    ready = settle_steps(graph, statuses, now=now)
    params = resolve_params(run, job)

    def launch_of(node: StepNode) -> StepLaunch:
        contract = build_step_contract(node, run=run, graph=graph, statuses=statuses, assets=assets, params=params,
                                       settings=settings, partitions=partitions, records=records, now=now)
        return build_launch(node, run=run, graph=graph, statuses=statuses, contract=contract)

    # Jobs that should exist but were not seen are asked for again (creating one answers 409 if it exists).
    launches = [
        launch_of(node)
        for node in graph.steps
        if statuses[node.name].state == "Running" and statuses[node.name].job_name not in observed
    ]
    running = sum(1 for step in statuses.values() if step.state == "Running")
    for node in ready:
        if running >= graph.max_parallel_steps:
            message = f"waiting for a free slot (maxParallelSteps {graph.max_parallel_steps})"
            statuses[node.name] = statuses[node.name].model_copy(update={"message": message})
            continue
        launch = launch_of(node)
        launches.append(launch)
        statuses[node.name] = statuses[node.name].model_copy(
            update={"state": "Running", "job_name": launch.job_name, "start_time": now, "message": None}
        )
        running += 1
    release_items(graph, statuses)
    status, finished, events = assemble_status(
        run, graph=graph, statuses=statuses, prior=prior, now=now, settings=settings
    )
    materializations = record_materializations(
        run, graph=graph, statuses=statuses, prior=prior, assets=assets, observed=observed, now=now,
        partitioned=frozenset(partitions.by_asset),
    )
    check_results = plan_check_results(run, graph=graph, statuses=statuses, prior=prior, observed=observed,
                                       partitions=partitions, now=now)
    partition_records = plan_partition_records(
        run, graph=graph, statuses=statuses, prior=prior, assets=assets, partitions=partitions,
        metadata_of=reported_metadata(statuses, observed), records=records, now=now,
    )
    requests = plan_follow_up_runs(run, graph=graph, statuses=statuses, assets=assets) if finished else ()
    return RunPlan(
        status=status, launches=tuple(launches), materializations=materializations,
        partition_records=partition_records, check_results=check_results, run_requests=requests, events=events,
        finished=finished,
        partition_keys=reported_partition_keys(graph, statuses=statuses, prior=prior, observed=observed),
    )


def plan_follow_up_runs(
    run: Run, *, graph: StepGraph, statuses: Mapping[str, StepStatus], assets: Mapping[str, Asset]
) -> tuple[RunRequest, ...]:
    """Eager Runs downstream of the assets this (finished) Run materialized."""
    return plan_eager_runs(
        materialized=[n.asset for n in graph.steps if n.asset and statuses[n.name].state == "Succeeded"],
        attempted=[n.asset for n in graph.steps if n.asset],
        source_run=run.metadata.name,
        source_uid=run.metadata.uid,
        partition=run.spec.partition,
        assets=assets,
        partition_range=run.spec.partition_range,
        space=next((definition_key(assets[n.asset].spec.partitions) for n in graph.steps
                    if n.asset and assets[n.asset].spec.partitions is not None), None),
    )


def observe_steps(
    run: Run, *, graph: StepGraph, observed: Mapping[str, ObservedJob], now: datetime
) -> dict[str, StepStatus]:
    """Every step's status from its previous status and its observed Job, in graph order."""
    prior = {step.name: step for step in run.status.steps}
    sources = graph.fan_out_sources
    return {
        node.name: observe_step(
            node,
            prior=prior.get(node.name),
            observed=observed.get(step_job_name(run.metadata.name, node.name)),
            default_data_version=run.metadata.uid or run.metadata.name,
            keep_items=node.name in sources,
            now=now,
        )
        for node in graph.steps
    }


def settle_steps(graph: StepGraph, statuses: dict[str, StepStatus], *, now: datetime) -> list[StepNode]:
    """Settle pending steps in place and return those that may start now (none once a step failed)."""
    ready = []
    failures = {node.name: describe_blocking_failure(node, statuses[node.name]) for node in graph.steps
                if node.check is not None and statuses[node.name].state == "Failed"}
    for node in graph.steps:
        if statuses[node.name].state == "Pending":
            statuses[node.name], can_start = settle_pending(node, statuses[node.name], statuses, now=now,
                                                            failures=failures)
            if can_start:
                ready.append(node)
    failed = next((node.name for node in graph.steps if statuses[node.name].state == "Failed"), None)
    if failed is None:
        return ready
    why = failures.get(failed) or f"step {failed} failed"
    for node in graph.steps:
        if statuses[node.name].state == "Pending":
            statuses[node.name] = statuses[node.name].model_copy(
                update={"state": "Skipped", "message": truncate_message(f"not started: {why}", 256),
                        "completion_time": now}
            )
    return []


def release_items(graph: StepGraph, statuses: dict[str, StepStatus]) -> None:
    """Drop a fan-out source's inline items from status once every step mapping over them has finished."""
    for source in graph.fan_out_sources:
        consumers = [node.name for node in graph.steps if node.fan_out_from == source]
        if statuses[source].items is not None and all(statuses[c].state in TERMINAL_STATES for c in consumers):
            statuses[source] = statuses[source].model_copy(update={"items": None})


def build_launch(
    node: StepNode,
    *,
    run: Run,
    graph: StepGraph,
    statuses: Mapping[str, StepStatus],
    contract: StepContract,
) -> StepLaunch:
    """The launch of `node`: its Job name, contract values and, for fan-out, completions and parallelism."""
    completions = parallelism = None
    if node.fan_out_from is not None:
        completions = statuses[node.fan_out_from].item_count
        parallelism = min(completions or 1, graph.max_parallel_steps)
    return StepLaunch(
        job_name=step_job_name(run.metadata.name, node.name),
        node=node,
        contract=contract,
        completions=completions,
        parallelism=parallelism,
    )
