"""Reconcile one Job: its `Ready` condition (does its selection resolve to a DAG, is its paramsSchema valid),
from the cache; and, when it appears or changes, the unfinished Runs that wait on it.

Does not: run anything (a Job is a template; see `run`).
"""

from __future__ import annotations

from kasset.planning import plan_job_status
from kasset.reconcilers.runtime import Runtime
from kasset.reconcilers.status import valid_or_reported, write_model_status


def reconcile_job(rt: Runtime, namespace: str, name: str) -> float | None:
    ns = rt.cache.namespace(namespace)
    job = valid_or_reported(rt, "jobs", ns.jobs, name, outcome="Ready")
    if job is None:
        return None
    status = plan_job_status(job, ns, now=rt.clock(), settings=rt.plan_settings)
    write_model_status(rt, "jobs", job, status)
    return None
