"""The Backfill kind (`backfills.kasset.dev`): a Job or an asset selection run over many partitions, one Run per
batch of partitions, at a bounded concurrency (DESIGN §2).

What is run (the target) and over which partitions are fixed at creation (CEL refuses edits); `suspend`,
`maxConcurrentRuns` and `rerunFailed` may change at any time. status is bounded: counts per outcome, the failed
partitions as ranges (at most MAX_FAILED_RANGES), never one entry per partition; the `Complete` condition is the
outcome, and printer columns are derived from status and that condition.

Does not: resolve partitions or plan Runs (see `kasset.planning.backfill`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from kasset.api.base import API_VERSION, KassetModel, ObjectMeta, Timestamp
from kasset.api.common import AssetSelection
from kasset.api.conditions import Condition
from kasset.api.partitions import LocalTime, PartitionKey, PartitionRange
from kasset.api.run import JobRef

#: Most explicit partition keys one Backfill lists (and most partitions a range may cover).
MAX_BACKFILL_PARTITIONS = 10_000
#: Most ranges `status.failedPartitions` keeps; the Complete condition's message counts the rest.
MAX_FAILED_RANGES = 100
IMMUTABLE_TARGET = {
    "rule": "has(self.jobRef) == has(oldSelf.jobRef) && (!has(self.jobRef) || self.jobRef == oldSelf.jobRef) && "
    "has(self.selection) == has(oldSelf.selection) && (!has(self.selection) || self.selection == oldSelf.selection)",
    "message": "spec.jobRef and spec.selection are immutable: create a new Backfill",
}


def parse_time_bound(value: str) -> datetime:
    """`2021-04-01` or `2021-04-01T06:00[:00]` as a naive (local) datetime."""
    return datetime.fromisoformat(value)


class BackfillPartitions(KassetModel):
    """Which partitions to run: a half-open time range [from, to) or a list of keys, not both."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": "spec.partitions is immutable: create a new Backfill"},
                {
                    "rule": "has(self.from) == has(self.to) && has(self.from) != has(self.keys)",
                    "message": "spec.partitions: set either from and to, or keys",
                },
                {"rule": "!has(self.from) || self.from < self.to", "message": "spec.partitions.from must come before to"},
            ]
        }
    )

    from_: LocalTime | None = Field(
        default=None,
        alias="from",
        description="First window start included: a date (2021-04-01) or a local date and time "
        "(2021-04-01T06:00), in the time zone of the assets' time-window dimension.",
    )
    to: LocalTime | None = Field(
        default=None,
        description="First window start excluded (the range is half-open: [from, to)).",
    )
    keys: list[PartitionKey] | None = Field(
        default=None,
        description="Explicit partition keys (each checked against the assets' spec.partitions).",
        min_length=1,
        max_length=MAX_BACKFILL_PARTITIONS,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )

    @model_validator(mode="after")
    def one_form(self) -> BackfillPartitions:
        if (self.from_ is None) != (self.to is None) or (self.from_ is None) == (self.keys is None):
            raise ValueError("set either from and to, or keys")
        if self.from_ is not None and parse_time_bound(self.from_) >= parse_time_bound(self.to):
            raise ValueError(f"from ({self.from_}) must come before to ({self.to})")
        return self


class BackfillSpec(KassetModel):
    """What to run, over which partitions, and how many Runs at once."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": [IMMUTABLE_TARGET]})

    job_ref: JobRef | None = Field(
        default=None, description="The Job whose selected assets are backfilled; exactly one of jobRef and selection."
    )
    selection: AssetSelection | None = Field(
        default=None, description="The assets to backfill; exactly one of jobRef and selection."
    )
    partitions: BackfillPartitions = Field(
        description="The partitions to run; the selected assets must share one spec.partitions definition."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters passed to every Run.")
    max_concurrent_runs: int = Field(
        default=4, description="Most unfinished Runs of the Backfill at once; the next start as they finish.",
        ge=1, le=1000,
    )
    suspend: bool = Field(default=False, description="While true no new Run is created; running ones finish.")
    rerun_failed: int = Field(
        default=0,
        description="Raise by one to run again every partition whose latest Run failed (one new Run per such "
        "partition per raise).",
        ge=0,
    )

    @model_validator(mode="after")
    def one_target(self) -> BackfillSpec:
        if (self.job_ref is None) == (self.selection is None):
            raise ValueError("exactly one of jobRef and selection must be set")
        return self


class BackfillStatus(KassetModel):
    """What the operator observed about the Backfill: counts of partitions by the outcome of their latest Run."""

    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this status was computed from.", ge=0
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Complete: Unknown while partitions remain (Running, Suspended, Pending), True when every "
        "partition succeeded, False when all finished and some failed (PartitionsFailed) or the target does "
        "not resolve (InvalidSpec).",
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    requested: int = Field(default=0, description="Partitions the Backfill covers.", ge=0)
    pending: int = Field(default=0, description="Partitions without a Run yet (or waiting for a rerun).", ge=0)
    running: int = Field(default=0, description="Partitions whose latest Run has not finished.", ge=0)
    succeeded: int = Field(default=0, description="Partitions whose latest Run succeeded.", ge=0)
    failed: int = Field(default=0, description="Partitions whose latest Run failed.", ge=0)
    runs: int = Field(default=0, description="Runs the Backfill created, reruns included.", ge=0)
    failed_partitions: list[PartitionRange] = Field(
        default_factory=list,
        description=f"The failed partitions as ranges of consecutive keys (at most {MAX_FAILED_RANGES}).",
        max_length=MAX_FAILED_RANGES,
    )
    progress: str | None = Field(
        default=None, description="Succeeded partitions over requested ones, e.g. 12/31.", max_length=32
    )
    start_time: Timestamp | None = Field(default=None, description="When the first Run was created.")
    completion_time: Timestamp | None = Field(default=None, description="When every partition had finished.")


class Backfill(KassetModel):
    """A Job or asset selection run over a range or list of partitions, one Run per batch."""

    api_version: Literal["kasset.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["Backfill"] = "Backfill"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: BackfillSpec
    status: BackfillStatus = Field(default_factory=BackfillStatus)
