"""Reconcile one Run: observe its step Jobs, plan, launch what is ready, record materializations, write status.

Restart safety comes from the planner's deterministic Job names: a Job that exists is "already launched",
so a reconcile interrupted anywhere (before or after a create, before the status write) repeats harmlessly.
The status write carries the resourceVersion that was planned from, so a stale plan never overwrites a
newer status: on Conflict the Run is read again and planned again at once.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from kasset.api.asset import Asset
from kasset.api.base import to_manifest
from kasset.api.job import Job
from kasset.api.run import Run
from kasset.builders.labels import select_run_jobs
from kasset.builders.stepjob import build_step_job
from kasset.k8s import Conflict, NotFound
from kasset.planning import RunPlan, apply_materialization, plan_run
from kasset.planning.history import count_unfinished_earlier_runs, select_runs_to_prune
from kasset.planning.run import is_run_finished
from kasset.reconcilers.context import Context
from kasset.reconcilers.definitions import invalid_spec_status, load_assets, reconcile_namespace_definitions
from kasset.reconcilers.observe import observe_jobs

log = logging.getLogger("kasset.run")
CONFLICT_RETRIES = 5


def reconcile_run(ctx: Context, namespace: str, name: str) -> float | None:
    """Bring Run `namespace/name` one step closer to done; return seconds after which to look again, if any
    (a wait that no watch will announce), else None."""
    with ctx.lock("Run", namespace, name):
        try:
            raw = ctx.kube.get("runs", namespace, name)
        except NotFound:
            return None
        if raw["metadata"].get("deletionTimestamp"):
            return None
        try:
            run = Run.model_validate(raw)
        except ValidationError as exc:
            ctx.kube.replace_status("runs", raw, invalid_spec_status(raw, exc, now=ctx.clock(), outcome="Succeeded"))
            return None
        for _attempt in range(CONFLICT_RETRIES):
            if _settled(run):
                return None
            plan = _plan(ctx, run)
            if _apply(ctx, raw, run, plan):
                return plan.requeue_after
            raw = ctx.kube.get("runs", namespace, name)  # changed while planning: plan again from fresh
            run = Run.model_validate(raw)
        return ctx.plan_settings.requeue_seconds


def _settled(run: Run) -> bool:
    return is_run_finished(run) and run.status.observed_generation == run.metadata.generation


def _plan(ctx: Context, run: Run) -> RunPlan:
    namespace = run.metadata.namespace
    assets = load_assets(ctx, namespace)
    job = None
    earlier = 0
    if run.spec.job_ref is not None:
        try:
            job = Job.model_validate(ctx.kube.get("jobs", namespace, run.spec.job_ref.name))
        except (NotFound, ValidationError):
            job = None
        if job is not None and job.spec.max_concurrent_runs is not None:
            runs = [Run.model_validate(r) for r in ctx.kube.list("runs", namespace)]
            same_job = [r for r in runs if r.spec.job_ref and r.spec.job_ref.name == job.metadata.name]
            earlier = count_unfinished_earlier_runs(run, same_job)
    selector = select_run_jobs(run.metadata.name)
    jobs = ctx.kube.list_jobs(namespace, label_selector=selector)
    pods = ctx.kube.list_pods(namespace, label_selector=selector) if jobs else []
    observed = observe_jobs(_owned_by(jobs, run), pods)
    return plan_run(run=run, job=job, assets=assets, observed=observed, now=ctx.clock(),
                    earlier_unfinished_runs=earlier, settings=ctx.plan_settings)


def _owned_by(jobs: list[dict], run: Run) -> list[dict]:
    """Only Jobs this very Run owns (a deleted and re-created Run of the same name must not adopt them)."""
    return [j for j in jobs if any(ref.get("uid") == run.metadata.uid
                                   for ref in j["metadata"].get("ownerReferences") or [])]


def _apply(ctx: Context, raw: dict, run: Run, plan: RunPlan) -> bool:
    """Carry out `plan`; False when the status write lost a race (the Run changed since it was read)."""
    namespace, name = run.metadata.namespace, run.metadata.name
    for launch in plan.launches:
        body = build_step_job(launch, run=run, settings=ctx.build_settings)
        job, created = ctx.kube.create_job(namespace, body)
        if created:
            log.info("Created Job %s/%s for step %s of Run %s", namespace, launch.job_name, launch.node.name, name)
        elif not any(ref.get("uid") == run.metadata.uid for ref in job["metadata"].get("ownerReferences") or []):
            log.warning("Job %s/%s exists but is not owned by Run %s", namespace, launch.job_name, name)
    if plan.materializations:
        _record_materializations(ctx, namespace, plan)
    for request in plan.run_requests:
        body = {"apiVersion": "kasset.dev/v1alpha1", "kind": "Run",
                "metadata": {"name": request.name, "labels": request.labels, "annotations": request.annotations},
                "spec": to_manifest(request.spec)}
        _, created = ctx.kube.create("runs", namespace, body)
        if created:
            log.info("Created Run %s/%s (automation after Run %s)", namespace, request.name, name)
    for event in plan.events:
        ctx.kube.emit_event(raw, type_=event.type, reason=event.reason, message=event.message)
    try:
        ctx.kube.replace_status("runs", raw, to_manifest(plan.status))
    except Conflict:
        log.debug("Run %s/%s changed while planning; planning again", namespace, name)
        return False
    if plan.finished:
        log.info("Run %s/%s finished", namespace, name)
        if run.spec.job_ref is not None:
            _prune_history(ctx, namespace, run.spec.job_ref.name)
    return True


def _prune_history(ctx: Context, namespace: str, job_name: str) -> None:
    """Delete the finished Runs of Job `job_name` beyond its history limits (their step Jobs go with them);
    what they did stays in Events and in the Assets' status."""
    try:
        job = Job.model_validate(ctx.kube.get("jobs", namespace, job_name))
    except (NotFound, ValidationError):
        return
    runs = []
    for raw in ctx.kube.list("runs", namespace):
        try:
            other = Run.model_validate(raw)
        except ValidationError:
            continue
        if other.spec.job_ref is not None and other.spec.job_ref.name == job_name:
            runs.append(other)
    doomed = select_runs_to_prune(runs, successful_limit=job.spec.successful_runs_history_limit,
                                  failed_limit=job.spec.failed_runs_history_limit)
    for old in doomed:
        ctx.kube.delete("runs", namespace, old)
        log.info("Deleted Run %s/%s (history limit of Job %s)", namespace, old, job_name)


def _record_materializations(ctx: Context, namespace: str, plan: RunPlan) -> None:
    for update in plan.materializations:
        for _attempt in range(5):  # re-read on Conflict: another Run may be writing the same Asset
            try:
                raw = ctx.kube.get("assets", namespace, update.asset)
            except NotFound:
                break
            asset = Asset.model_validate(raw)
            assets = load_assets(ctx, namespace)
            status = apply_materialization(asset, update.materialization, assets, now=ctx.clock())
            try:
                ctx.kube.replace_status("assets", raw, to_manifest(status))
                log.info("Recorded materialization of Asset %s/%s by Run %s", namespace, update.asset,
                         update.materialization.run)
                break
            except Conflict:
                continue
    reconcile_namespace_definitions(ctx, namespace)
