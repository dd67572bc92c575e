"""The Asset kind: a data product and the container that makes it (DESIGN §2).

spec is intent (how to make the asset, what it depends on, where it writes); status is observation (the last
materialization with its lineage, and conditions saying whether it is stale and why).

Does not: decide staleness or lineage (see `kasset.planning.staleness` and `kasset.planning.lineage`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from kasset.api.base import (
    API_VERSION,
    DATA_VERSION_MAX_LENGTH,
    MicroTimestamp,
    RESULT_REF_MAX_LENGTH,
    KassetModel,
    MessageLine,
    ObjectMeta,
    ObjectName,
    Timestamp,
)
from kasset.api.checks import MAX_CHECKS, AssetCheck, CheckResult
from kasset.api.common import MAX_DEPENDENCIES, MAX_VOLUMES, Container, RetryPolicy, Volume
from kasset.api.conditions import Condition
from kasset.api.partitions import PartitionMapping, PartitionsDefinition, PartitionSummary
from kasset.api.storage import StorageTemplate

#: Bound on `status.staleReasons`; the rest is summarized in the Stale condition's message.
MAX_STALE_REASONS = 10
#: Largest step metadata (as compact JSON) kept in `lastMaterialization`; bigger metadata is replaced by a note.
MAX_MATERIALIZATION_METADATA_BYTES = 16 * 1024

#: OnCron stays in the schema's enum so that the API server answers it with the CEL rule's message below
#: (an enum error would only list the supported values); the model rejects it with the same words.
AutomationPolicy = Literal["Manual", "Eager", "OnCron"]
ONCRON_UNSUPPORTED = ("spec.automation: OnCron is removed; create a Schedule (schedules.kasset.dev) with "
                      "selection.assets naming this asset")


class AssetDependency(KassetModel):
    """An upstream asset this asset reads."""

    asset: ObjectName = Field(description="Name of the upstream Asset in the same namespace.")
    partition_mapping: PartitionMapping | None = Field(
        default=None,
        description="Which upstream partitions a partition of this asset reads; when omitted, the default for the "
        "two definitions (Identity for equal ones, TimeWindow between time windows, AllPartitions into an "
        "unpartitioned asset, Unpartitioned from an unpartitioned upstream).",
    )


class FreshnessPolicy(KassetModel):
    """How old the asset may get before it counts as late (DESIGN §2 `freshness`)."""

    maximum_lag_seconds: int = Field(
        description="Longest time since the last materialization before the asset is late, in seconds. The "
        "operator exports it as `kasset_asset_freshness_maximum_lag_seconds`; the chart's KassetAssetLate alert "
        "compares it with the age of the last materialization, so lateness is judged on Prometheus's clock.",
        ge=1,
        le=366 * 24 * 3600,
    )


class AssetSpec(KassetModel):
    """How to make the asset."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.automation) || self.automation != 'OnCron'",
                    "message": ONCRON_UNSUPPORTED,
                    "fieldPath": ".automation",
                }
            ]
        }
    )

    container: Container = Field(description="The container that materializes the asset.")
    deps: list[AssetDependency] = Field(
        default_factory=list,
        description="Upstream assets this one reads; their output URIs reach the step in KASSET_INPUTS.",
        max_length=MAX_DEPENDENCIES,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["asset"]},
    )
    partitions: PartitionsDefinition | None = Field(
        default=None,
        description="The asset's partitions: time windows, static or dynamic keys, in one or more dimensions. "
        "Runs then name a partition (or a range), each materialized and tracked on its own.",
    )
    code_version: str | None = Field(
        default=None,
        description="Version of the code that makes the asset; changing it marks the asset stale.",
        max_length=253,
    )
    storage: StorageTemplate | None = Field(
        default=None,
        description="URI template of where the step writes, with {namespace}, {asset}, {partition}, {run} and "
        "{step} placeholders, e.g. file:///data/{namespace}/{asset}/{partition}. Unpartitioned runs render "
        "{partition} as `unpartitioned`. The operator default applies when omitted.",
    )
    retry: RetryPolicy | None = Field(default=None, description="Retries of a failed materialization.")
    timeout_seconds: int | None = Field(
        default=None, description="Deadline of one materialization (all attempts), in seconds.", ge=1
    )
    automation: AutomationPolicy = Field(
        default="Manual",
        description="When the operator materializes the asset by itself: Manual (never; only Runs do) or "
        "Eager (after an upstream materializes). OnCron is rejected: a Schedule runs assets on cron.",
    )
    volumes: list[Volume] = Field(
        default_factory=list,
        description="Pod volumes (hostPath, persistentVolumeClaim...) for the container's volumeMounts.",
        max_length=MAX_VOLUMES,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    freshness: FreshnessPolicy | None = Field(
        default=None, description="When the asset counts as late; never when omitted."
    )
    checks: list[AssetCheck] = Field(
        default_factory=list,
        description="Data-quality checks run after each materialization (per partition), in the same Run.",
        max_length=MAX_CHECKS,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )

    @field_validator("automation")
    @classmethod
    def reject_oncron(cls, value: str) -> str:
        if value == "OnCron":
            raise ValueError(ONCRON_UNSUPPORTED)
        return value


class LineageEntry(KassetModel):
    """One upstream asset's materialization that a materialization consumed."""

    asset: ObjectName = Field(description="Name of the upstream Asset.")
    run: str | None = Field(
        default=None, description="Run that produced the consumed data; absent if never materialized.", max_length=253
    )
    data_version: str | None = Field(
        default=None, description="dataVersion of the consumed data.", max_length=DATA_VERSION_MAX_LENGTH
    )
    partition: str | None = Field(
        default=None,
        description="Partition of the consumed data; when several were read, the first and last as "
        "`first...last` (the exact list is in the asset's PartitionSlice records).",
        max_length=253,
    )
    partition_count: int | None = Field(
        default=None, description="How many upstream partitions were read, when more than one.", ge=0
    )


class Materialization(KassetModel):
    """A successful materialization of the asset and what it consumed."""

    run: ObjectName = Field(description="Run that materialized the asset.")
    time: Timestamp = Field(description="When the materializing step finished.")
    start_time: MicroTimestamp | None = Field(
        default=None,
        description="When the materializing step started. Of two materializations, the one that started later "
        "is the newer and wins, however late the older one finishes.",
    )
    data_version: str = Field(
        description="Version of the data written: reported by the step, else the Run's uid.",
        max_length=DATA_VERSION_MAX_LENGTH,
    )
    code_version: str | None = Field(default=None, description="spec.codeVersion at that time.", max_length=253)
    partition: str | None = Field(default=None, description="Partition materialized, if any.", max_length=253)
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="Plain JSON metadata reported by the step (e.g. num_records); metadata larger than "
        f"{MAX_MATERIALIZATION_METADATA_BYTES} bytes as JSON is replaced by a note saying so.",
    )
    result_ref: str | None = Field(
        default=None,
        description="URI of the full result when it was too large for the message.",
        max_length=RESULT_REF_MAX_LENGTH,
    )
    lineage: list[LineageEntry] = Field(
        default_factory=list,
        description="Each upstream asset with the exact run and dataVersion this materialization consumed.",
        max_length=MAX_DEPENDENCIES,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["asset"]},
    )


class AssetStatus(KassetModel):
    """What the operator observed about the asset."""

    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this status was computed from.", ge=0
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Materialized, Stale, DependenciesResolved and ChecksPassed.",
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    last_materialization: Materialization | None = Field(
        default=None, description="The latest successful materialization, with its lineage."
    )
    stale_reasons: list[MessageLine] = Field(
        default_factory=list,
        description=f"Why the asset is stale, one line each (at most {MAX_STALE_REASONS}).",
        max_length=MAX_STALE_REASONS,
    )
    partitions: PartitionSummary | None = Field(
        default=None,
        description="Partitioned assets: counts and ranges of materialized, failed, missing and stale partitions "
        "(bounded; the exact record of each partition is in the asset's PartitionSlices).",
    )
    checks: list[CheckResult] = Field(
        default_factory=list,
        description="The last result of each check declared in spec.checks (the ChecksPassed condition sums "
        "them up).",
        max_length=MAX_CHECKS,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


class Asset(KassetModel):
    """A data product and how to make it."""

    api_version: Literal["kasset.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["Asset"] = "Asset"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: AssetSpec
    status: AssetStatus = Field(default_factory=AssetStatus)
