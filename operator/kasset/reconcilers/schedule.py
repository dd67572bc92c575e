"""Reconcile one Schedule: resolve its target's partitions from the cache, read its Runs from the cache (index
`runs_by_schedule`), plan the due tick, create its Run, delete what Replace and the history limits say, write
status, and look again at the next tick (the work queue's delayed add: a tick is acted on within its
precision, not on a polling interval).

Restart safety: the Run's name derives from the tick, so creating it again answers 409 (already created) and
the cursor in status moves only with the write that follows; a crash between the two re-plans the same tick
and finds its Run. Deleting a Schedule leaves its Runs (history); unfinished ones finish.

Does not: decide anything (see `kasset.planning.schedule`).
"""

from __future__ import annotations

import logging

from kasset.api.base import API_VERSION
from kasset.api.contract import READY
from kasset.api.schedule import Schedule
from kasset.k8s import NotFound
from kasset.planning.model import RunRequest
from kasset.planning.schedule import SchedulePlan, plan_schedule, resolve_partitions
from kasset.planning.dag import Problem
from kasset.reconcilers.requests import run_manifest
from kasset.reconcilers.runtime import Runtime
from kasset.reconcilers.status import find_job, model_meta, valid_or_reported, write_model_status
from kasset.runtime.cache import NamespaceCache

log = logging.getLogger("kasset.schedule")
TICK_OUTCOME = {"CreatedRun": "run", "SkippedTick": "skipped", "MissedSchedule": "missed"}


def reconcile_schedule(rt: Runtime, namespace: str, name: str) -> float | None:
    """Run the due tick of Schedule `namespace/name` and write its status; seconds until the next tick."""
    ns = rt.cache.namespace(namespace)
    schedule = valid_or_reported(rt, "schedules", ns.schedules, name, outcome=READY)
    if schedule is None or schedule.metadata.deletion_timestamp is not None:
        return None
    definition = _resolve(ns, schedule)
    ns.mark_schedule_waiting(name, isinstance(definition, Problem))
    plan = plan_schedule(schedule, runs=ns.runs_of_schedule(name), now=rt.clock(), definition=definition)
    for request in plan.creates:
        _create_run(rt, ns, schedule, request)
    for run in plan.deletes:
        rt.kube.delete("runs", namespace, run)
        log.info("Deleted Run %s/%s of Schedule %s", namespace, run, name)
    if write_model_status(rt, "schedules", schedule, plan.status):
        _announce(rt, schedule, plan)
    return plan.requeue_after


def _resolve(ns: NamespaceCache, schedule: Schedule):
    job, job_problem = find_job(ns, schedule.spec.job_ref)
    return resolve_partitions(schedule, job=job, assets=ns, job_problem=job_problem)


def _create_run(rt: Runtime, ns: NamespaceCache, schedule: Schedule, request: RunRequest) -> None:
    """Create the tick's Run and store it in the cache (409: created before, e.g. before a restart: read it)."""
    created, ok = rt.kube.create("runs", ns.name, run_manifest(request))
    if not ok:
        try:
            created = rt.kube.get("runs", ns.name, request.name)
        except NotFound:
            return
    ns.put_run(created)
    rt.queue.add(("Run", ns.name, request.name))
    if ok:
        log.info("Created Run %s/%s for Schedule %s", ns.name, request.name, schedule.metadata.name)


def _announce(rt: Runtime, schedule: Schedule, plan: SchedulePlan) -> None:
    manifest = {"apiVersion": API_VERSION, "kind": "Schedule", "metadata": model_meta(schedule)}
    for event in plan.events:
        rt.kube.emit_event(manifest, type_=event.type, reason=event.reason, message=event.message)
        if event.reason in TICK_OUTCOME:
            rt.metrics.schedule_ticks.labels(TICK_OUTCOME[event.reason]).inc()
        log.info("Schedule %s/%s: %s", schedule.metadata.namespace, schedule.metadata.name, event.message)
