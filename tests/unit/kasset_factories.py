"""Small builders of API objects and observations for the unit tests (no cluster, fixed clock)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from kasset.api import Asset, Job, Run
from kasset.planning import ObservedJob, StepResult

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
NAMESPACE = "team"


def at(seconds: float) -> datetime:
    """The fixed test clock, `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


def make_asset(name: str, *deps: str, status: dict[str, Any] | None = None, **spec: Any) -> Asset:
    body: dict[str, Any] = {
        "metadata": {"name": name, "namespace": NAMESPACE, "generation": 1, "uid": f"uid-{name}"},
        "spec": {"container": {"image": f"example/{name}:1"}, "deps": [{"asset": d} for d in deps], **spec},
    }
    if status is not None:
        body["status"] = status
    return Asset.model_validate(body)


def materialized(asset: Asset, *, run: str, data_version: str, seconds: float = 0, lineage=(), **extra: Any) -> Asset:
    """`asset` with a lastMaterialization."""
    record = {
        "run": run,
        "time": at(seconds),
        "dataVersion": data_version,
        "codeVersion": asset.spec.code_version,
        "lineage": [dict(entry) for entry in lineage],
        **extra,
    }
    return Asset.model_validate(asset.model_dump(by_alias=True) | {"status": {"lastMaterialization": record}})


def index(*assets: Asset) -> dict[str, Asset]:
    return {asset.metadata.name: asset for asset in assets}


def make_job(name: str = "pipeline", **spec: Any) -> Job:
    return Job.model_validate(
        {"metadata": {"name": name, "namespace": NAMESPACE, "generation": 1, "uid": f"uid-{name}"}, "spec": spec}
    )


def make_run(name: str = "run-1", *, job: str | None = "pipeline", created: float = 0, **spec: Any) -> Run:
    if job is not None:
        spec.setdefault("jobRef", {"name": job})
    return Run.model_validate(
        {
            "metadata": {
                "name": name,
                "namespace": NAMESPACE,
                "generation": 1,
                "uid": f"uid-{name}",
                "creationTimestamp": at(created),
            },
            "spec": spec,
        }
    )


def with_status(run: Run, status) -> Run:
    return run.model_copy(update={"status": status})


def running(name: str, **kwargs: Any) -> ObservedJob:
    return ObservedJob(name=name, active_pods=1, start_time=T0, **kwargs)


def succeeded(name: str, *, result: StepResult | None = None, seconds: float = 10, **kwargs: Any) -> ObservedJob:
    kwargs.setdefault("succeeded_pods", 1)
    return ObservedJob(
        name=name, is_complete=True, start_time=T0, completion_time=at(seconds), result=result, **kwargs
    )


def failed(name: str, *, message: str = "boom", pods: int = 1, reason: str = "BackoffLimitExceeded") -> ObservedJob:
    return ObservedJob(
        name=name, failed_pods=pods, is_failed=True, failure_reason=reason, failure_message=message,
        start_time=T0, completion_time=at(20),
    )


def step(run, name: str):
    """The status entry of step `name` in a Run status or RunPlan."""
    status = getattr(run, "status", run)
    return next(s for s in status.steps if s.name == name)


def run_isolated(code: str) -> str:
    """Run `code` in a fresh, isolated interpreter (nothing imported yet); return its stdout, stripped."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def created(plan) -> list[Run]:
    """The Runs of a plan's creates (RunRequests), as the API server would hold them (not started)."""
    return [Run.model_validate({"metadata": {"name": r.name, "namespace": NAMESPACE, "labels": r.labels,
                                             "annotations": r.annotations}, "spec": r.spec.model_dump()})
            for r in plan.creates]


def finished(run: Run, outcome: str = "True", *, started: bool = True, completed: datetime = T0) -> Run:
    """`run` with its Succeeded condition True or False."""
    condition = {"type": "Succeeded", "status": outcome, "reason": "Done" if outcome == "True" else "StepFailed",
                 "lastTransitionTime": T0}
    status = {"conditions": [condition], "startTime": T0 if started else None, "completionTime": completed}
    return run.model_copy(update={"status": Run.model_validate({"spec": {}, "status": status}).status})
