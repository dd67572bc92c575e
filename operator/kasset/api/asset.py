"""The Asset kind: a data product and the container that makes it (DESIGN §2).

spec is intent (how to make the asset, what it depends on, where it writes); status is observation (the last
materialization with its lineage, and conditions saying whether it is stale and why).

Does not: decide staleness or lineage (see `kasset.planning.staleness` and `kasset.planning.lineage`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from kasset.api.base import API_VERSION, KassetModel, MessageLine, ObjectMeta, ObjectName, Timestamp
from kasset.api.common import MAX_DEPENDENCIES, MAX_VOLUMES, Container, RetryPolicy, Volume
from kasset.api.conditions import Condition

#: Bound on `status.staleReasons`; the rest is summarized in the Stale condition's message.
MAX_STALE_REASONS = 10

AutomationPolicy = Literal["Manual", "Eager", "OnCron"]


class PartitionMapping(KassetModel):
    """Which partition of the upstream asset a partition of this asset reads."""

    type: Literal["Identity", "Unpartitioned"] = Field(
        default="Identity",
        description="Identity: the same partition key as the downstream run; Unpartitioned: the upstream "
        "asset has no partitions, its single materialization is read.",
    )


class AssetDependency(KassetModel):
    """An upstream asset this asset reads."""

    asset: ObjectName = Field(description="Name of the upstream Asset in the same namespace.")
    partition_mapping: PartitionMapping | None = Field(
        default=None, description="Which upstream partition is read; Identity when omitted."
    )


class AssetSpec(KassetModel):
    """How to make the asset."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.automation) || self.automation != 'OnCron' || has(self.schedule)",
                    "message": "spec.schedule is required when spec.automation is OnCron",
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
    code_version: str | None = Field(
        default=None,
        description="Version of the code that makes the asset; changing it marks the asset stale.",
        max_length=253,
    )
    storage: str | None = Field(
        default=None,
        description="URI template of where the step writes, with {namespace}, {asset}, {partition}, {run} and "
        "{step} placeholders, e.g. file:///data/{namespace}/{asset}/{partition}. Unpartitioned runs render "
        "{partition} as `unpartitioned`. The operator default applies when omitted.",
        max_length=2048,
    )
    retry: RetryPolicy | None = Field(default=None, description="Retries of a failed materialization.")
    timeout_seconds: int | None = Field(
        default=None, description="Deadline of one materialization (all attempts), in seconds.", ge=1
    )
    automation: AutomationPolicy = Field(
        default="Manual",
        description="When the operator materializes the asset by itself: Manual (never; only Runs do), "
        "Eager (after an upstream materializes), OnCron (on `schedule`).",
    )
    schedule: str | None = Field(
        default=None, description="Cron schedule, in CronJob syntax, for automation OnCron.", max_length=253
    )
    time_zone: str | None = Field(
        default=None, description="IANA time zone of `schedule`; UTC when omitted.", max_length=253
    )
    volumes: list[Volume] = Field(
        default_factory=list,
        description="Pod volumes (hostPath, persistentVolumeClaim...) for the container's volumeMounts.",
        max_length=MAX_VOLUMES,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


class LineageEntry(KassetModel):
    """One upstream asset's materialization that a materialization consumed."""

    asset: ObjectName = Field(description="Name of the upstream Asset.")
    run: str | None = Field(
        default=None, description="Run that produced the consumed data; absent if never materialized.", max_length=253
    )
    data_version: str | None = Field(default=None, description="dataVersion of the consumed data.", max_length=253)
    partition: str | None = Field(default=None, description="Partition of the consumed data.", max_length=253)


class Materialization(KassetModel):
    """A successful materialization of the asset and what it consumed."""

    run: ObjectName = Field(description="Run that materialized the asset.")
    time: Timestamp = Field(description="When the materializing step finished.")
    data_version: str = Field(
        description="Version of the data written: reported by the step, else the Run's uid.", max_length=253
    )
    code_version: str | None = Field(default=None, description="spec.codeVersion at that time.", max_length=253)
    partition: str | None = Field(default=None, description="Partition materialized, if any.", max_length=253)
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Plain JSON metadata reported by the step (e.g. num_records)."
    )
    result_ref: str | None = Field(
        default=None, description="URI of the full result when it was too large for the message.", max_length=2048
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
        description="Materialized, Stale and DependenciesResolved.",
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


class Asset(KassetModel):
    """A data product and how to make it."""

    api_version: Literal["kasset.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["Asset"] = "Asset"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: AssetSpec
    status: AssetStatus = Field(default_factory=AssetStatus)
