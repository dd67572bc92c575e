"""Reconcile one Run: observe its step Jobs (from the cache), plan, launch what is ready, record
materializations, write status.

Restart safety comes from the planner's deterministic Job names: a Job that exists is "already launched",
so a reconcile interrupted anywhere repeats harmlessly. A materialization is recorded on its Asset *before*
the Run's status counts its step Succeeded, and recording the same Run's materialization again is a no-op,
so it is recorded exactly once across conflicts, retries and restarts. A step Job the API server rejects
(422 invalid, 403 forbidden or over quota) becomes a Failed step carrying the server's message. Pods are read
only when a step Job has just finished and its outcome is not recorded yet (one targeted list).

Does not: decide anything (see `kasset.planning.run`).
"""

from __future__ import annotations

import logging

from kasset.api.base import API_VERSION, to_manifest
from kasset.api.job import Job
from kasset.api.run import TERMINAL_STATES, Run
from kasset.builders.stepjob import build_step_job
from kasset.k8s import ApiError, Conflict, NotFound, Rejected
from kasset.planning import ObservedJob, RunPlan, apply_materialization, plan_run
from kasset.planning.backfill import backfill_of
from kasset.planning.checks import apply_check_result
from kasset.planning.history import select_runs_to_prune
from kasset.planning.run import is_run_finished
from kasset.reconcilers.observe import observe_job
from kasset.reconcilers.partitions import register_dynamic_keys, write_partition_records
from kasset.reconcilers.requests import request_runs
from kasset.reconcilers.runmetrics import observe_run_transitions
from kasset.reconcilers.runtime import Runtime
from kasset.reconcilers.sensor import request_materialization_runs
from kasset.reconcilers.status import describe_invalid, model_meta, valid_or_reported, write_status
from kasset.runtime.cache import Invalid, NamespaceCache, slim_step_job

log = logging.getLogger("kasset.run")
CONFLICT_RETRIES = 5
#: Reasons of a Run waiting for an object to appear: such Runs are reconciled when Assets or Jobs appear.
WAITING_REASONS = frozenset({"JobNotFound", "AssetNotFound", "MissingDependency", "DependenciesPending"})


def reconcile_run(rt: Runtime, namespace: str, name: str) -> float | None:
    """Bring Run `namespace/name` one step closer to done; return seconds after which to look again, if any
    (a wait that no watch will announce), else None."""
    ns = rt.cache.namespace(namespace)
    run = valid_or_reported(rt, "runs", ns.runs, name, outcome="Succeeded")
    if run is None:
        return None
    for _attempt in range(CONFLICT_RETRIES):
        if run.metadata.deletion_timestamp is not None or _settled(run):
            return None
        plan = _plan_and_launch(rt, ns, run)
        write_partition_records(rt, ns, plan.partition_records)
        register_dynamic_keys(rt, ns, plan.partition_keys)
        _record_materializations(rt, ns, plan)
        request_materialization_runs(rt, ns, run, plan)
        _record_check_results(rt, ns, plan)
        _request_runs(rt, ns, run, plan)
        try:
            written = write_status(rt, "runs", model_meta(run), to_manifest(run.status), to_manifest(plan.status))
        except Conflict:
            run = _read_fresh(rt, ns, name)
            if run is None:
                return None
            continue
        if written:
            _announce(rt, ns, run, plan)
            observe_run_transitions(rt.metrics, run, run.status, plan.status)
        return plan.requeue_after
    return rt.plan_settings.requeue_seconds


def _settled(run: Run) -> bool:
    return is_run_finished(run) and run.status.observed_generation == run.metadata.generation


def _read_fresh(rt: Runtime, ns: NamespaceCache, name: str) -> Run | None:
    try:
        ns.put_run(rt.kube.get("runs", ns.name, name))
    except NotFound:
        return None
    return ns.runs.valid.get(name)


def _plan_and_launch(rt: Runtime, ns: NamespaceCache, run: Run) -> RunPlan:
    """Plan, create the planned step Jobs, and plan again while the API server rejects some (each rejection
    becomes a failed observation of that Job)."""
    job, job_problem = _find_job(ns, run)
    earlier = 0
    if job is not None and job.spec.max_concurrent_runs is not None:
        earlier = ns.unfinished_runs_before(run)
    observed = _observe(rt, ns, run)
    attempted: set[str] = set()
    while True:
        plan = plan_run(run=run, job=job, assets=ns, observed=observed, now=rt.clock(),
                        earlier_unfinished_runs=earlier, settings=rt.plan_settings, job_problem=job_problem,
                        records=ns.records_of)
        rejected = {}
        for launch in plan.launches:
            if launch.job_name in attempted:
                continue
            attempted.add(launch.job_name)
            try:
                created = rt.kube.create_job(ns.name, build_step_job(launch, run=run, settings=rt.build_settings))
                if created is not None:
                    # in the cache at once: a reconcile before the watch's echo must not create it again
                    ns.put_step_job(run.metadata.name, slim_step_job(created))
                    log.info("Created Job %s/%s for step %s of Run %s", ns.name, launch.job_name, launch.node.name,
                             run.metadata.name)
            except Rejected as exc:
                log.warning("Job %s/%s for step %s was rejected: %s", ns.name, launch.job_name, launch.node.name, exc)
                rejected[launch.job_name] = ObservedJob(name=launch.job_name, is_failed=True,
                                                        failure_reason="JobRejected", failure_message=str(exc))
        if not rejected:
            return plan
        observed = {**observed, **rejected}


def _find_job(ns: NamespaceCache, run: Run) -> tuple[Job | None, str | None]:
    if run.spec.job_ref is None:
        return None, None
    name = run.spec.job_ref.name
    found = ns.jobs.valid.get(name) or ns.jobs.invalid.get(name)
    if isinstance(found, Invalid):
        return None, describe_invalid(found.error)
    return found, None


def _observe(rt: Runtime, ns: NamespaceCache, run: Run) -> dict[str, ObservedJob]:
    """The Run's step Jobs (only those this very Run owns: a re-created Run of the same name adopts nothing),
    with the pods of a Job that just finished and whose outcome the Run has not recorded yet."""
    recorded = {s.job_name for s in run.status.steps if s.job_name and s.state in TERMINAL_STATES}
    observed = {}
    for job in ns.step_jobs_of(run.metadata.name):
        if not any(ref.get("uid") == run.metadata.uid for ref in job["metadata"].get("ownerReferences") or []):
            continue
        name = job["metadata"]["name"]
        phase = _finished_phase(job)
        pods = []
        if phase is not None and name not in recorded:
            pods = rt.kube.list_pods(ns.name, label_selector=f"batch.kubernetes.io/job-name={name}",
                                     field_selector=f"status.phase={phase}", limit=100)
        observed[name] = observe_job(job, pods)
    return observed


def _finished_phase(job: dict) -> str | None:
    """The pod phase whose termination messages matter: Succeeded for a Complete non-indexed Job, Failed for
    a Failed Job, else None (nothing to read)."""
    conditions = {c.get("type") for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"}
    if "Failed" in conditions:
        return "Failed"
    if "Complete" in conditions and (job.get("spec") or {}).get("completionMode") != "Indexed":
        return "Succeeded"
    return None


def _record_materializations(rt: Runtime, ns: NamespaceCache, plan: RunPlan) -> None:
    """Write each new materialization to its Asset (newer wins; the same Run's record is never written twice).
    Raises when one cannot be written, so the Run's status does not count the step Succeeded yet."""
    for update in plan.materializations:
        if _record_on_asset(rt, ns, update.asset, what=f"the materialization by Run {update.materialization.run}",
                            apply=lambda asset: apply_materialization(asset, update.materialization, ns,
                                                                      now=rt.clock())):
            rt.queue.add(("Asset", ns.name, update.asset))  # its facts (what it holds) changed


def _record_check_results(rt: Runtime, ns: NamespaceCache, plan: RunPlan) -> None:
    """Write each check's result to its Asset's status.checks (newer wins; the same Run's result is written
    once). Raises when one cannot be written, so the Run's status does not count the check finished yet."""
    for update in plan.check_results:
        _record_on_asset(rt, ns, update.asset, what=f"check {update.result.name} ({update.result.outcome})",
                         apply=lambda asset: apply_check_result(asset, update.result, now=rt.clock()))


def _record_on_asset(rt: Runtime, ns: NamespaceCache, name: str, *, what: str, apply) -> bool:
    """Write `apply(asset)` (the Asset's new status, or None: nothing to record) as Asset `name`'s status,
    re-reading it on Conflict; True when written. Raises when conflicts persist."""
    for _attempt in range(CONFLICT_RETRIES):
        asset = ns.get(name)
        status = apply(asset) if asset is not None else None
        if status is None:
            return False
        try:
            write_status(rt, "assets", model_meta(asset), to_manifest(asset.status), to_manifest(status))
            log.info("Recorded %s on Asset %s/%s", what, ns.name, name)
            return True
        except Conflict:
            ns.put_asset(rt.kube.get("assets", ns.name, name))
    raise ApiError(f"could not record {what} on Asset {name}: conflicts")


def _request_runs(rt: Runtime, ns: NamespaceCache, run: Run, plan: RunPlan) -> None:
    request_runs(rt, ns, plan.run_requests, cause=f"Run {run.metadata.name}")


def _announce(rt: Runtime, ns: NamespaceCache, run: Run, plan: RunPlan) -> None:
    """After a status write: Events, the waiting set, and on finish the history limits and queued Runs."""
    manifest = {"apiVersion": API_VERSION, "kind": "Run", "metadata": model_meta(run)}
    for event in plan.events:
        rt.kube.emit_event(manifest, type_=event.type, reason=event.reason, message=event.message)
    condition = next((c for c in plan.status.conditions if c.type == "Succeeded"), None)
    ns.mark_waiting(run.metadata.name, condition is not None and condition.reason in WAITING_REASONS)
    if not plan.finished:
        return
    log.info("Run %s/%s finished", ns.name, run.metadata.name)
    job_name = run.spec.job_ref.name if run.spec.job_ref is not None else None
    _prune_history(rt, ns, job_name)
    if job_name is not None:
        rt.enqueue("Run", ns.name, ns.runs_waiting_for_a_slot(job_name))
    if (backfill := backfill_of(run)) is not None:  # a slot of its Backfill opened
        rt.queue.add(("Backfill", ns.name, backfill))


def _prune_history(rt: Runtime, ns: NamespaceCache, job_name: str | None) -> None:
    """Delete the finished Runs of Job `job_name` (or the Runs without a Job) beyond the history limits; what
    they did stays in Events and in the Assets' status."""
    job = ns.jobs.valid.get(job_name) if job_name else None
    if job_name is not None and job is None:
        return
    successful = job.spec.successful_runs_history_limit if job else rt.settings.successful_runs_history_limit
    failed = job.spec.failed_runs_history_limit if job else rt.settings.failed_runs_history_limit
    runs = [run for run in ns.runs_of(job_name) if not ns.held_by_backfill(run)]  # a Backfill counts by them
    for old in select_runs_to_prune(runs, successful_limit=successful, failed_limit=failed):
        rt.kube.delete("runs", ns.name, old)
        log.info("Deleted Run %s/%s (history limit of %s)", ns.name, old, f"Job {job_name}" if job_name else
                 "Runs without a Job")
