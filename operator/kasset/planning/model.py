"""The values that go in and out of run planning: what was observed of step Jobs, and the plan.

Does not: compute anything (see `run`, `steps`, `stepcontract`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from kasset.api.asset import Materialization
from kasset.api.conditions import Condition, find_condition
from kasset.api.run import RunSpec, RunStatus
from kasset.planning.graph import StepNode
from kasset.planning.results import StepResult
from kasset.planning.templates import TemplateError


@dataclass(frozen=True)
class ObservedJob:
    """What the reconciler saw of one step's batch/v1 Job. A Job that does not exist is simply absent from
    the mapping given to the planner (keyed by Job name).

    `is_complete` / `is_failed` are the Job's `Complete` / `Failed` conditions (status True). `result` is the
    parsed termination message of the succeeded pod (non-indexed Jobs). `failure_message` is the last failed
    pod's termination message (or log tail), else the Failed condition's message.
    """

    name: str
    active_pods: int = 0
    succeeded_pods: int = 0
    failed_pods: int = 0
    is_complete: bool = False
    is_failed: bool = False
    failure_reason: str | None = None
    failure_message: str | None = None
    failed_indexes: str | None = None
    start_time: datetime | None = None
    completion_time: datetime | None = None
    result: StepResult | None = None


@dataclass(frozen=True)
class StepContract:
    """The step contract values one step receives (rendered into KASSET_* variables by the builders)."""

    namespace: str
    run: str
    step: str
    asset: str | None
    partition: str | None
    params: dict[str, Any]
    output_uri: str
    inputs: dict[str, str] = field(default_factory=dict)
    code_version: str | None = None
    items: tuple[Any, ...] | None = None
    items_uri: str | None = None
    partition_range: tuple[str, str] | None = None
    window: tuple[str, str] | None = None
    input_partitions: dict[str, dict[str, str]] = field(default_factory=dict)
    check: str | None = None


@dataclass(frozen=True)
class StepLaunch:
    """A step Job to create now. `completions` is set for fan-out steps (an Indexed Job), with `parallelism`."""

    job_name: str
    node: StepNode
    contract: StepContract
    completions: int | None = None
    parallelism: int | None = None


@dataclass(frozen=True)
class PlanEvent:
    """A state change worth a Kubernetes Event on the Run."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class MaterializationUpdate:
    """Record `materialization` as `status.lastMaterialization` of Asset `asset` (same namespace)."""

    asset: str
    materialization: Materialization


def warn_when_false(before: Sequence[Condition], after: Sequence[Condition], type_: str) -> tuple[PlanEvent, ...]:
    """A Warning Event when condition `type_` turns False, or changes reason while False."""
    old, new = find_condition(before, type_), find_condition(after, type_)
    if new is None or new.status != "False":
        return ()
    if old is not None and (old.status, old.reason) == (new.status, new.reason):
        return ()
    return (PlanEvent("Warning", new.reason, new.message),)


def rendered_run_spec(**fields: Any) -> RunSpec:
    """A RunSpec from rendered templates. A rendered value the Run's schema refuses (a partition key over 256
    characters) is a TemplateError naming the field, like any template that does not render."""
    try:
        return RunSpec(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise TemplateError(f"spec.{where}: the rendered value is refused: {first['msg']}") from None


@dataclass(frozen=True)
class RunRequest:
    """A Run to create in the Run's namespace. The name derives from `spec.runKey`, so creating it twice
    gives 409 (already requested) rather than a second Run."""

    name: str
    spec: RunSpec
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunPlan:
    """What the Run reconciler should do, in this order: create `launches` (409 = already launched), write
    `partition_records` to PartitionSlices (and `partition_keys` to the dynamic dimensions), `materializations`
    and `check_results` to Assets, create `run_requests`, then write `status`. `requeue_after` (seconds) is set
    when the Run waits for something no watch will announce."""

    status: RunStatus
    launches: tuple[StepLaunch, ...] = ()
    materializations: tuple[MaterializationUpdate, ...] = ()
    partition_records: tuple[Any, ...] = ()  # PartitionRecordUpdate (see `partitionrecords`), written first
    partition_keys: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (asset, dynamic keys its step reported)
    check_results: tuple[Any, ...] = ()  # CheckResultUpdate (see `checks`), written before the status
    run_requests: tuple[RunRequest, ...] = ()
    events: tuple[PlanEvent, ...] = ()
    finished: bool = False
    requeue_after: float | None = None
