"""Turn the batch/v1 Jobs and pods of a Run, as the API returns them (dicts), into `ObservedJob` values.

Pure: no API calls. The outcome comes only from the Job's `Complete` / `Failed` conditions (not from pod
counts, and not from `FailureTarget`, which precedes `Failed` while pods terminate).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kasset.api.contract import JOB_NAME_LABELS
from kasset.planning import ObservedJob, parse_step_result



def observe_jobs(jobs: Iterable[dict], pods: Iterable[dict]) -> dict[str, ObservedJob]:
    """Observed Jobs keyed by Job name; `pods` may include pods of other Jobs (they are grouped)."""
    by_job: dict[str, list[dict]] = defaultdict(list)
    for pod in pods:
        labels = pod["metadata"].get("labels") or {}
        job_name = next((labels[k] for k in JOB_NAME_LABELS if k in labels), None)
        if job_name:
            by_job[job_name].append(pod)
    return {job["metadata"]["name"]: observe_job(job, by_job.get(job["metadata"]["name"], []))
            for job in jobs}


def observe_job(job: dict, pods: list[dict]) -> ObservedJob:
    status = job.get("status") or {}
    complete = _condition(status, "Complete")
    failed = _condition(status, "Failed")
    indexed = (job.get("spec") or {}).get("completionMode") == "Indexed"
    result = None
    if complete and not indexed:
        message = _last_terminated_message(pods, phase="Succeeded")
        result = parse_step_result(message)
    failure_message = None
    if failed:
        failure_message = _last_terminated_message(pods, phase="Failed") or failed.get("message")
    return ObservedJob(
        name=job["metadata"]["name"],
        active_pods=status.get("active") or 0,
        succeeded_pods=status.get("succeeded") or 0,
        failed_pods=status.get("failed") or 0,
        is_complete=complete is not None,
        is_failed=failed is not None,
        failure_reason=failed.get("reason") if failed else None,
        failure_message=failure_message,
        failed_indexes=status.get("failedIndexes"),
        start_time=_time(status.get("startTime")),
        completion_time=_time(status.get("completionTime")) or _time((complete or failed or {}).get(
            "lastTransitionTime")),
        result=result,
    )


def _condition(status: dict, type_: str) -> dict | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == type_ and condition.get("status") == "True":
            return condition
    return None


def _last_terminated_message(pods: list[dict], *, phase: str) -> str | None:
    """The termination message of the most recently finished pod in `phase`."""
    best: tuple[str, str | None] | None = None
    for pod in pods:
        if (pod.get("status") or {}).get("phase") != phase:
            continue
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (container.get("state") or {}).get("terminated")
            if terminated:
                key = terminated.get("finishedAt") or ""
                if best is None or key >= best[0]:
                    best = (key, terminated.get("message"))
    return best[1] if best else None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
