"""The PartitionSlice kind: the exact per-partition record of one Asset, sharded over several objects the way
EndpointSlices shard a Service's endpoints (DESIGN §2).

An Asset with 10,000 partitions cannot keep one entry per partition in its own status (etcd refuses objects
over ~1.5 MiB, and every status write would carry them all); its status keeps a compact summary, and the
records live here: each partition key hashes to one of at most MAX_SLICES_PER_ASSET slices named
`<asset>-<bucket>`, owned by the Asset (deleted with it) and labelled `kasset.dev/asset=<asset>`. A record holds
the partition's latest materialization (run, times, dataVersion, codeVersion, metadata, exact lineage: every
upstream partition it read) and its latest failure; a key reported by a step for a dynamic dimension gets a
record with neither until it is materialized. Only the operator writes slices (status subresource).

A slice stays under MAX_SLICE_STATUS_BYTES: at most MAX_RECORDS_PER_SLICE records, and past the byte bound the
records' details are dropped, least useful first (exact lineage collapsed per upstream, metadata, lineage,
failure messages).

Does not: decide where a key goes or what a record says (see `kasset.planning.partitionrecords`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from kasset.api.asset import LineageEntry
from kasset.api.base import (
    API_VERSION,
    DATA_VERSION_MAX_LENGTH,
    KassetModel,
    MicroTimestamp,
    ObjectMeta,
    ObjectName,
    Timestamp,
)

#: Most slices one Asset's records spread over (a key's slice is a hash of the key modulo this).
MAX_SLICES_PER_ASSET = 256
#: Most records one slice holds (180 minimal records of maximal keys fill 240 KiB): 20,000 partitions spread
#: over 256 slices are ~80 each; a full slice takes no new record (the operator logs it), so an asset keeps
#: exact records for about 35,000 partitions.
MAX_RECORDS_PER_SLICE = 180
#: Largest slice written (compact JSON): past it, record details are dropped in a fixed order (see
#: `kasset.planning.partitionrecords.bound_slice_records`).
MAX_SLICE_STATUS_BYTES = 256 * 1024
#: Most upstream partitions one record's lineage names; more (an AllPartitions mapping of a large upstream)
#: are summarized per upstream asset.
MAX_RECORD_LINEAGE = 400
#: Largest metadata (compact JSON) a record keeps; the Asset's lastMaterialization keeps up to 16 KiB.
MAX_RECORD_METADATA_BYTES = 1024
PARTITION_KEY_MAX_LENGTH = 256


class PartitionRecord(KassetModel):
    """What is known of one partition: its latest materialization and its latest failure."""

    partition: str = Field(description="The partition key.", min_length=1, max_length=PARTITION_KEY_MAX_LENGTH)
    run: str | None = Field(default=None, description="Run of the latest materialization.", max_length=253)
    time: Timestamp | None = Field(default=None, description="When the materializing step finished.")
    start_time: MicroTimestamp | None = Field(
        default=None, description="When the materializing step started (the later-started one wins)."
    )
    data_version: str | None = Field(
        default=None, description="dataVersion of the partition's data.", max_length=DATA_VERSION_MAX_LENGTH
    )
    code_version: str | None = Field(default=None, description="spec.codeVersion at that time.", max_length=253)
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description=f"Plain JSON metadata the step reported (at most {MAX_RECORD_METADATA_BYTES} bytes as JSON; "
        "larger metadata is replaced by a note, the Asset's lastMaterialization keeps more).",
    )
    lineage: list[LineageEntry] = Field(
        default_factory=list,
        description="Every upstream partition the materialization read, with the run and dataVersion of each "
        f"(at most {MAX_RECORD_LINEAGE}; beyond that one entry per upstream asset gives the count).",
        max_length=MAX_RECORD_LINEAGE,
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
    failed_run: str | None = Field(
        default=None, description="Run of the latest failed attempt, when it is newer than the materialization.",
        max_length=253,
    )
    failed_time: Timestamp | None = Field(default=None, description="When that attempt failed.")
    failure_message: str | None = Field(default=None, description="Why it failed.", max_length=256)
    trimmed: bool | None = Field(
        default=None, description="True when details (metadata, exact lineage) were dropped to keep the slice "
        f"under {MAX_SLICE_STATUS_BYTES // 1024} KiB.",
    )

    @property
    def state(self) -> Literal["Materialized", "Failed", "Missing"]:
        if self.failed_run is not None:
            return "Failed"
        return "Materialized" if self.run is not None else "Missing"


class PartitionSliceSpec(KassetModel):
    """Which Asset's records the slice holds."""

    asset: ObjectName = Field(description="Name of the Asset whose partitions the slice records.")


class PartitionSliceStatus(KassetModel):
    """The records of the partitions whose keys hash to this slice."""

    records: list[PartitionRecord] = Field(
        default_factory=list,
        description="One record per partition key.",
        max_length=MAX_RECORDS_PER_SLICE,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["partition"]},
    )


class PartitionSlice(KassetModel):
    """A shard of one Asset's per-partition records, written by the operator."""

    api_version: Literal["kasset.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["PartitionSlice"] = "PartitionSlice"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PartitionSliceSpec
    status: PartitionSliceStatus = Field(default_factory=PartitionSliceStatus)
