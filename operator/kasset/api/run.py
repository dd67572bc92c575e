"""The Run kind: one execution of a Job, or of an ad-hoc asset selection (DESIGN §2).

status is bounded: one entry per step (at most MAX_STEPS), never one per pod or per fan-out item; the
`Succeeded` condition is the outcome, and printer columns are derived from it (no `phase` field).

Does not: plan the run (see `kasset.planning.run`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from kasset.api.base import (
    API_VERSION,
    DATA_VERSION_MAX_LENGTH,
    RESULT_REF_MAX_LENGTH,
    KassetModel,
    ObjectMeta,
    ObjectName,
    MicroTimestamp,
    Timestamp,
)
from kasset.api.common import AssetSelection
from kasset.api.conditions import Condition
from kasset.api.job import MAX_STEPS

#: Most inline items a fan-out source keeps in status (larger lists travel by resultRef).
MAX_INLINE_ITEMS = 1000
#: Largest inline items list (as compact JSON) a fan-out source keeps in status; larger ones go by resultRef.
MAX_INLINE_ITEMS_BYTES = 32 * 1024
#: Largest metadata (as compact JSON) an explicit step keeps in the Run's status.
MAX_STEP_METADATA_BYTES = 512
#: Longest message of one step in status (the Run's Succeeded condition repeats the first failure's).
STEP_MESSAGE_MAX_LENGTH = 256
#: Largest Run status (compact JSON) the planner writes, far below etcd's request limit (1.5 MiB): past it,
#: step details are dropped in a fixed order (see `kasset.planning.runstatus.bound_run_status`).
MAX_RUN_STATUS_BYTES = 256 * 1024

StepState = Literal["Pending", "Running", "Succeeded", "Failed", "Skipped"]
TriggerType = Literal["Manual", "Schedule", "Sensor", "Backfill", "Automation"]
TERMINAL_STATES: frozenset[str] = frozenset({"Succeeded", "Failed", "Skipped"})


class JobRef(KassetModel):
    """A reference to a Job in the same namespace."""

    name: ObjectName = Field(description="Name of the Job (jobs.kasset.dev).")


class Trigger(KassetModel):
    """What started the Run."""

    type: TriggerType = Field(default="Manual", description="Manual, Schedule, Sensor, Backfill or Automation.")
    source: str | None = Field(
        default=None,
        description="The object or event that triggered the Run, e.g. `Run/nightly-42`.",
        max_length=1024,
    )


class PartitionKeyRange(KassetModel):
    """A range of partitions, by its first and last key (both included, in the partitions' order)."""

    start: str = Field(description="First partition key of the range.", min_length=1, max_length=256)
    end: str = Field(description="Last partition key of the range (included).", min_length=1, max_length=256)


class RunSpec(KassetModel):
    """What to execute, with which params, for which partition."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": "spec is immutable: create a new Run"},
                {
                    "rule": "!(has(self.partition) && has(self.partitionRange))",
                    "message": "at most one of spec.partition and spec.partitionRange may be set",
                },
            ]
        }
    )

    job_ref: JobRef | None = Field(default=None, description="The Job to run; exactly one of jobRef and selection.")
    selection: AssetSelection | None = Field(
        default=None, description="An ad-hoc asset selection to materialize; exactly one of jobRef and selection."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Parameters as plain JSON; steps receive them in KASSET_PARAMS."
    )
    partition: str | None = Field(
        default=None,
        description="Partition key to materialize (checked against the selected assets' spec.partitions); steps "
        "receive it in KASSET_PARTITION, and for time windows its start and end in KASSET_PARTITION_WINDOW_START "
        "and KASSET_PARTITION_WINDOW_END.",
        max_length=256,
    )
    partition_range: PartitionKeyRange | None = Field(
        default=None,
        description="A range of partitions materialized by one step per asset (only for assets whose "
        "spec.partitions.backfillPolicy accepts ranges); steps receive KASSET_PARTITION_RANGE_START/END.",
    )
    trigger: Trigger | None = Field(default=None, description="What started the Run; Manual when omitted.")
    run_key: str | None = Field(
        default=None,
        description="Idempotency key: triggers derive the Run name from it, so one key never runs twice.",
        max_length=253,
    )


class StepStatus(KassetModel):
    """What happened to one step of the Run."""

    name: ObjectName = Field(description="Step name (the asset name for asset steps).")
    asset: str | None = Field(default=None, description="Asset the step materializes, if any.", max_length=253)
    state: StepState = Field(description="Pending, Running, Succeeded, Failed or Skipped.")
    job_name: str | None = Field(default=None, description="Name of the batch/v1 Job running the step.", max_length=63)
    attempts: int = Field(default=0, description="Pods started for the step, over all retries and items.", ge=0)
    start_time: MicroTimestamp | None = Field(
        default=None, description="When the step's Job was created (to the microsecond: it orders materializations)."
    )
    completion_time: Timestamp | None = Field(default=None, description="When the step reached its final state.")
    message: str | None = Field(
        default=None,
        description="Why the step is in its state (the failure message for Failed).",
        max_length=STEP_MESSAGE_MAX_LENGTH,
    )
    data_version: str | None = Field(
        default=None,
        description="dataVersion reported by the step, else the Run's uid.",
        max_length=DATA_VERSION_MAX_LENGTH,
    )
    item_count: int | None = Field(
        default=None, description="Items the step reported (fan-out source) or processed (fan-out step).", ge=0
    )
    items: list[Any] | None = Field(
        default=None,
        description="The reported items, kept only while a fan-out step needs them and small enough (at most "
        f"{MAX_INLINE_ITEMS} items and {MAX_INLINE_ITEMS_BYTES} bytes as JSON).",
        max_length=MAX_INLINE_ITEMS,
    )
    result_ref: str | None = Field(
        default=None,
        description="URI of the full result when it was too large for the message.",
        max_length=RESULT_REF_MAX_LENGTH,
    )
    metadata: dict[str, Any] | None = Field(
        default=None,
        description="Plain JSON metadata an explicit step reported (asset steps record theirs in the Asset's "
        f"status), kept when it is at most {MAX_STEP_METADATA_BYTES} bytes as JSON.",
    )


class RunStatus(KassetModel):
    """What the operator observed about the Run."""

    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this status was computed from.", ge=0
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Succeeded: Unknown while running, then True or False with the reason.",
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    start_time: Timestamp | None = Field(default=None, description="When the Run started launching steps.")
    completion_time: Timestamp | None = Field(default=None, description="When the Run finished.")
    progress: str | None = Field(default=None, description="Succeeded steps over all steps, e.g. 3/5.", max_length=32)
    steps: list[StepStatus] = Field(
        default_factory=list,
        description=f"One entry per step, in dependency order (at most {MAX_STEPS}). When the whole status would "
        f"exceed {MAX_RUN_STATUS_BYTES} bytes, details no step needs any more are dropped first.",
        max_length=MAX_STEPS,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


class Run(KassetModel):
    """One execution of a Job or of an asset selection."""

    api_version: Literal["kasset.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["Run"] = "Run"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: RunSpec
    status: RunStatus = Field(default_factory=RunStatus)
