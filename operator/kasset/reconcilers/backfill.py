"""Reconcile one Backfill: resolve its partitions into batches (the Job and Assets from the cache), read its Runs
from the cache (index `runs_by_backfill`), plan, create the next Runs, write status. When the Backfill is gone,
delete its Runs that have not started; started ones finish.

Restart safety comes from the planner's deterministic Run names and a cache synced before any reconcile: a Run
that exists is "already created" (a 409 reads it into the cache and plans again). A created Run is stored in
the cache at once (and queued for the Run reconciler), so the next reconcile counts it even before its watch
event arrives: `maxConcurrentRuns` holds across reconciles.

Does not: decide anything (see `kasset.planning.backfill`), or own its Runs (no ownerReferences: finished Runs
are history, and deleting a Backfill must not kill its running Runs).
"""

from __future__ import annotations

import logging

from kasset.api.backfill import Backfill
from kasset.api.base import API_VERSION
from kasset.api.contract import ANNOTATION_BACKFILL_PARTITIONS, COMPLETE
from kasset.k8s import NotFound
from kasset.planning.backfill import BackfillPlan, backfill_of, plan_backfill, select_unstarted_runs
from kasset.planning.backfilltargets import BackfillTargets, resolve_backfill_targets
from kasset.planning.dag import Problem
from kasset.planning.model import RunRequest
from kasset.reconcilers.requests import run_manifest
from kasset.reconcilers.runtime import Runtime
from kasset.reconcilers.status import find_job, model_meta, valid_or_reported, write_model_status
from kasset.runtime.cache import NamespaceCache

log = logging.getLogger("kasset.backfill")
#: Plans per reconcile: a name found taken (a Run the cache did not hold) reads it and plans again.
PASSES = 3


def reconcile_backfill(rt: Runtime, namespace: str, name: str) -> float | None:
    """Create the next Runs of Backfill `namespace/name` and write its status; when it is gone, cancel its
    unstarted Runs. Returns seconds after which to look again, if any."""
    ns = rt.cache.namespace(namespace)
    if name not in ns.backfills.valid and name not in ns.backfills.invalid:
        cancel_unstarted_runs(rt, ns, name)
        return None
    backfill = valid_or_reported(rt, "backfills", ns.backfills, name, outcome=COMPLETE)
    if backfill is None:
        return None
    if backfill.metadata.deletion_timestamp is not None:
        cancel_unstarted_runs(rt, ns, name)
        return None
    for _pass in range(PASSES):
        targets = _resolve(rt, ns, backfill)
        ns.mark_backfill_waiting(name, isinstance(targets, Problem))
        plan = plan_backfill(backfill, targets=targets, runs=ns.runs_of_backfill(name), now=rt.clock(),
                             name_taken=ns.has_run)
        if not all(_create_run(rt, ns, backfill, request) for request in plan.creates):
            continue
        _delete_runs(rt, ns, plan.deletes, why=f"not started; an earlier Backfill {name} was deleted")
        if write_model_status(rt, "backfills", backfill, plan.status):
            _announce(rt, backfill, plan)
        return plan.requeue_after
    return rt.plan_settings.requeue_seconds


def cancel_unstarted_runs(rt: Runtime, ns: NamespaceCache, name: str) -> None:
    """Delete the Runs of the gone Backfill `name` that have not started."""
    runs = [run for run in ns.runs_of_backfill(name) if backfill_of(run) == name]
    _delete_runs(rt, ns, select_unstarted_runs(runs), why=f"not started; its Backfill {name} was deleted")


def _resolve(rt: Runtime, ns: NamespaceCache, backfill: Backfill) -> BackfillTargets | Problem:
    job, job_problem = find_job(ns, backfill.spec.job_ref)
    return resolve_backfill_targets(backfill, job=job, job_problem=job_problem, assets=ns, now=rt.clock())


def _create_run(rt: Runtime, ns: NamespaceCache, backfill: Backfill, request: RunRequest) -> bool:
    """Create the Run and store it in the cache; False when the name was taken by a Run the cache did not hold
    (it is read into the cache, and the caller plans again)."""
    created, ok = rt.kube.create("runs", ns.name, run_manifest(request))
    if not ok:
        try:
            ns.put_run(rt.kube.get("runs", ns.name, request.name))
        except NotFound:
            pass
        return False
    ns.put_run(created)
    rt.queue.add(("Run", ns.name, request.name))  # its watch event is an echo of what the cache holds
    log.info("Created Run %s/%s for partitions %s of Backfill %s", ns.name, request.name,
             request.annotations.get(ANNOTATION_BACKFILL_PARTITIONS), backfill.metadata.name)
    return True


def _delete_runs(rt: Runtime, ns: NamespaceCache, names, *, why: str) -> None:
    for run in names:
        rt.kube.delete("runs", ns.name, run)
        log.info("Deleted Run %s/%s (%s)", ns.name, run, why)


def _announce(rt: Runtime, backfill: Backfill, plan: BackfillPlan) -> None:
    manifest = {"apiVersion": API_VERSION, "kind": "Backfill", "metadata": model_meta(backfill)}
    for event in plan.events:
        rt.kube.emit_event(manifest, type_=event.type, reason=event.reason, message=event.message)
        log.info("Backfill %s/%s: %s", backfill.metadata.namespace, backfill.metadata.name, event.message)
