"""The exact per-partition records of partitioned assets: what a Run's steps add to them, how a new record
merges with the one held, and which PartitionSlice holds a key.

A record is written for every partition an asset step materialized (each key of a range), with its exact
lineage: every upstream partition read, with the run and dataVersion of each (from the same Run's step, or
the upstream's record, or an unpartitioned upstream's last materialization). A failed step records the
failure on each of its partitions. Newer wins by the step's start time, and writing the same Run's record
again is a no-op, as for `lastMaterialization` (see `asset`).

Does not: write slices (the Run reconciler does) or summarize them (see `partitionstate`).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kasset.api.asset import Asset, LineageEntry
from kasset.api.base import json_size, to_manifest, truncate_message
from kasset.api.partitionslice import (
    MAX_RECORD_LINEAGE,
    MAX_RECORD_METADATA_BYTES,
    MAX_SLICE_STATUS_BYTES,
    MAX_SLICES_PER_ASSET,
    PartitionRecord,
)
from kasset.api.run import Run, StepStatus
from kasset.planning.graph import StepGraph, StepNode
from kasset.planning.partitions import check_dimension_key
from kasset.planning.runpartitions import RecordsOf, RunPartitions, StepPartitions, read_partitions
from kasset.planning.progress import finished_since

#: Records per slice the bucket count aims at (EndpointSlices hold 100 endpoints).
RECORDS_PER_SLICE = 100
METADATA_NOTE_KEY = "kasset.dev/note"


@dataclass(frozen=True)
class PartitionRecordUpdate:
    """Merge `record` into the records of Asset `asset`, which has `partitions` partitions now (None: unknown
    to the planner; the writer counts them)."""

    asset: str
    record: PartitionRecord
    partitions: int | None = None


def slice_name(asset: str, key: str, *, partitions: int) -> str:
    """The PartitionSlice a new record of `key` goes to: a hash bucket, their number growing with the asset's
    partition count (an existing record stays where it is: the cache knows its slice)."""
    wanted = max(1, -(-partitions // RECORDS_PER_SLICE))
    buckets = 1
    while buckets < wanted and buckets < MAX_SLICES_PER_ASSET:
        buckets *= 2
    bucket = zlib.crc32(key.encode()) % buckets
    prefix = asset if len(asset) <= 240 else f"{asset[:230]}-{zlib.crc32(asset.encode()):08x}"
    return f"{prefix}-p{bucket:02d}"


def _collapse(record: PartitionRecord) -> PartitionRecord:
    return record.model_copy(update={"lineage": collapse_lineage(record.lineage), "trimmed": True})


def _without_metadata(record: PartitionRecord) -> PartitionRecord:
    return record.model_copy(update={"metadata": {}, "trimmed": True}) if record.metadata else record


def _without_lineage(record: PartitionRecord) -> PartitionRecord:
    return record.model_copy(update={"lineage": [], "trimmed": True}) if record.lineage else record


def _without_message(record: PartitionRecord) -> PartitionRecord:
    return record.model_copy(update={"failure_message": None, "trimmed": True}) if record.failure_message else record


#: How a slice over its byte bound is trimmed, least useful first.
TRIM_STAGES = (_collapse, _without_metadata, _without_lineage, _without_message)


def bound_slice_records(records: list[PartitionRecord], *, max_bytes: int = MAX_SLICE_STATUS_BYTES
                        ) -> list[PartitionRecord]:
    """`records` as written: whole when their JSON fits `max_bytes`, else trimmed stage by stage."""
    for trim in TRIM_STAGES:
        if json_size({"records": [to_manifest(r) for r in records]}) <= max_bytes:
            break
        records = [trim(record) for record in records]
    return records


def merge_record(old: PartitionRecord | None, new: PartitionRecord) -> PartitionRecord | None:
    """The record after `new` (a materialization or a failure), or None when nothing changes: the same Run's
    record again, or one older than what is held."""
    if old is None:
        return new
    if new.run is not None:
        if old.run is not None and (new.run == old.run or started_at(new) <= started_at(old)):
            return None
        return new
    if new.failed_run == old.failed_run or (old.run is not None and started_at(old) >= _failed_at(new)):
        return None
    return old.model_copy(update={"failed_run": new.failed_run, "failed_time": new.failed_time,
                                  "failure_message": new.failure_message})


def started_at(record: PartitionRecord) -> tuple:
    """How records of one partition are ordered: by the step's start (its finish when unknown), then run."""
    return (record.start_time or record.time, record.run or "")


def _failed_at(record: PartitionRecord) -> tuple:
    return (record.failed_time, record.failed_run or "")


def plan_partition_records(
    run: Run,
    *,
    graph: StepGraph,
    statuses: Mapping[str, StepStatus],
    prior: Mapping[str, StepStatus],
    assets: Mapping[str, Asset],
    partitions: RunPartitions,
    metadata_of: Mapping[str, Mapping[str, Any]],
    records: RecordsOf,
    now: datetime,
) -> tuple[PartitionRecordUpdate, ...]:
    """Records for the partitioned asset steps that finished since the previous status (`metadata_of`: the
    step's reported metadata by step name)."""
    updates = []
    for node, step in finished_since(graph, statuses, prior):
        span = partitions.of(node.asset)
        if span is None:
            continue
        for key in span.keys:
            if step.state == "Failed":
                record = PartitionRecord(partition=key, failed_run=run.metadata.name,
                                         failed_time=step.completion_time or now,
                                         failure_message=truncate_message(step.message, 256))
            else:
                record = _materialized(node, key, run=run, step=step, statuses=statuses, assets=assets,
                                       span=span, metadata=metadata_of.get(node.name, {}), records=records, now=now)
            updates.append(PartitionRecordUpdate(asset=node.asset, record=record, partitions=len(span.space)))
    return tuple(updates)


def reported_partition_keys(
    graph: StepGraph, *, statuses: Mapping[str, StepStatus], prior: Mapping[str, StepStatus],
    observed: Mapping[str, Any],
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(asset, keys) for each asset step that succeeded since the previous status and reported
    `partitionKeys`: keys for the dynamic dimensions whose `addedBy` names that asset."""
    found = []
    for node, step in finished_since(graph, statuses, prior, states=frozenset({"Succeeded"})):
        if node.asset is None:
            continue
        job = observed.get(step.job_name or "")
        keys = job.result.partition_keys if job is not None and job.result is not None else None
        if keys:
            found.append((node.asset, tuple(keys)))
    return tuple(found)


def registration_records(target: Asset, keys: tuple[str, ...]) -> tuple[list[PartitionRecord], list[str]]:
    """Records that add `keys` to the dynamic dimension of `target` (a one-dimension definition), and the
    keys refused with why."""
    refused = []
    records = []
    for key in dict.fromkeys(keys):
        problem = check_dimension_key(key)
        if problem is not None:
            refused.append(f"{key[:40]!r}: {problem}")
        else:
            records.append(PartitionRecord(partition=key))
    return records, refused


def reported_metadata(statuses: Mapping[str, StepStatus], observed: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The metadata each finished step reported, by step name (from its observed Job's result)."""
    found = {}
    for name, step in statuses.items():
        job = observed.get(step.job_name or "")
        if job is not None and job.result is not None and job.result.metadata:
            found[name] = job.result.metadata
    return found


def _materialized(
    node: StepNode, key: str, *, run: Run, step: StepStatus, statuses: Mapping[str, StepStatus],
    assets: Mapping[str, Asset], span: StepPartitions, metadata: Mapping[str, Any], records: RecordsOf,
    now: datetime,
) -> PartitionRecord:
    asset = assets[node.asset]
    one = StepPartitions(keys=(key,), space=span.space)
    lineage = build_partition_lineage(asset, step=one, run_name=run.metadata.name, statuses=statuses,
                                      assets=assets, records=records, now=now)
    return PartitionRecord(
        partition=key, run=run.metadata.name, time=step.completion_time or now, start_time=step.start_time,
        data_version=step.data_version or run.metadata.name, code_version=asset.spec.code_version,
        metadata=_bounded(metadata), lineage=lineage,
    )


def _bounded(metadata: Mapping[str, Any]) -> dict[str, Any]:
    size = json_size(metadata)
    if size <= MAX_RECORD_METADATA_BYTES:
        return dict(metadata)
    return {METADATA_NOTE_KEY: f"metadata of {size} bytes kept in the Asset's lastMaterialization only"}


def build_partition_lineage(
    asset: Asset, *, step: StepPartitions, run_name: str, statuses: Mapping[str, StepStatus],
    assets: Mapping[str, Asset], records: RecordsOf, now: datetime,
) -> list[LineageEntry]:
    """Every upstream partition that `step` of `asset` read, with the run and dataVersion of each; past
    MAX_RECORD_LINEAGE entries, one entry per upstream asset gives the range and the count."""
    entries: list[LineageEntry] = []
    for dep in asset.spec.deps:
        upstream = assets.get(dep.asset)
        if upstream is None:
            entries.append(LineageEntry(asset=dep.asset))
            continue
        keys = read_partitions(asset, dep, step=step, upstream=upstream, now=now, records=records)
        entries.extend(_entries(dep.asset, keys, upstream=upstream, run_name=run_name, statuses=statuses,
                                records=records))
    if len(entries) <= MAX_RECORD_LINEAGE:
        return entries
    return collapse_lineage(entries)


def _entries(
    name: str, keys: list[str] | None, *, upstream: Asset, run_name: str, statuses: Mapping[str, StepStatus],
    records: RecordsOf,
) -> list[LineageEntry]:
    in_run = statuses.get(name)
    produced = in_run is not None and in_run.asset == name and in_run.state == "Succeeded"
    if keys is None:
        if produced:
            return [LineageEntry(asset=name, run=run_name, data_version=in_run.data_version)]
        last = upstream.status.last_materialization
        return [LineageEntry(asset=name, run=last.run if last else None, data_version=last.data_version if last
                             else None)]
    held = records(name)
    found = []
    for key in keys:
        if produced:
            found.append(LineageEntry(asset=name, partition=key, run=run_name, data_version=in_run.data_version))
            continue
        record = held.get(key)
        run = record.run if record is not None else None
        found.append(LineageEntry(asset=name, partition=key, run=run,
                                  data_version=record.data_version if run is not None else None))
    return found


def collapse_lineage(entries: list[LineageEntry]) -> list[LineageEntry]:
    """One entry per upstream asset: the partition (or `first...last` and the count), and the run and
    dataVersion when all read partitions share them (the lastMaterialization form)."""
    by_asset: dict[str, list[LineageEntry]] = {}
    for entry in entries:
        by_asset.setdefault(entry.asset, []).append(entry)
    collapsed = []
    for name, group in by_asset.items():
        if len(group) == 1:
            collapsed.append(group[0])
            continue
        runs = {e.run for e in group}
        versions = {e.data_version for e in group}
        collapsed.append(LineageEntry(
            asset=name, partition=truncate_message(f"{group[0].partition}...{group[-1].partition}", 253),
            partition_count=len(group),
            run=runs.pop() if len(runs) == 1 else None,
            data_version=versions.pop() if len(versions) == 1 else None,
        ))
    return collapsed
