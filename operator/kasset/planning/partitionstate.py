"""Judge each partition of a partitioned asset from the records (materialized, failed, missing, stale) and
sum them up into the Asset's bounded `status.partitions`, and into its Stale condition.

A materialized partition is stale when its codeVersion differs from the spec's, or when an upstream partition
it read now holds other data (another dataVersion, or another run when versions are unknown), or was
materialized since it was read as missing. The cost is one pass over the asset's records and their lineage:
the Asset reconciler runs it once per batch of changes (the work queue merges them).

Does not: read the API, or write status (the Asset reconciler does).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from kasset.api.asset import Asset, AssetStatus, LineageEntry, Materialization
from kasset.api.conditions import set_condition
from kasset.api.contract import STALE
from kasset.api.partitions import PartitionSummary
from kasset.api.partitionslice import PartitionRecord
from kasset.planning.asset import supersedes
from kasset.planning.partitionrecords import collapse_lineage, started_at
from kasset.planning.partitions import PartitionError, PartitionSpace, summarize
from kasset.planning.runpartitions import RecordsOf, build_space


def judge_partitions(
    asset: Asset, space: PartitionSpace, *, records: RecordsOf, assets: Mapping[str, Asset]
) -> tuple[set[str], set[str], set[str]]:
    """(materialized, failed, stale) keys of `asset` within `space` (records of keys outside it are ignored)."""
    materialized, failed, stale = set(), set(), set()
    for key, record in records(asset.metadata.name).items():
        if not space.contains(key):
            continue
        if record.failed_run is not None:
            failed.add(key)
        if record.run is None:
            continue
        materialized.add(key)
        if _is_stale(asset, record, records=records, assets=assets):
            stale.add(key)
    return materialized, failed, stale


def _is_stale(asset: Asset, record: PartitionRecord, *, records: RecordsOf, assets: Mapping[str, Asset]) -> bool:
    if record.code_version != asset.spec.code_version:
        return True
    return any(_moved_on(entry, records=records, assets=assets) for entry in record.lineage)


def _moved_on(entry: LineageEntry, *, records: RecordsOf, assets: Mapping[str, Asset]) -> bool:
    if entry.partition_count:  # a summarized entry: the exact partitions are not known any more
        return False
    if entry.partition is None:
        upstream = assets.get(entry.asset)
        last = upstream.status.last_materialization if upstream is not None else None
        current = (last.run, last.data_version) if last is not None else (None, None)
    else:
        held = records(entry.asset).get(entry.partition)
        current = (held.run, held.data_version) if held is not None and held.run else (None, None)
    run, version = current
    if run is None:
        return False
    if entry.run is None:
        return True
    if entry.data_version and version:
        return entry.data_version != version
    return entry.run != run


def latest_materialization(asset: Asset, *, records: RecordsOf) -> Materialization | None:
    """The newest materialization among `asset`'s partition records (the later-started step wins), as
    `lastMaterialization` shows it: the exact lineage summed up per upstream. None when it has none."""
    latest = None
    for record in records(asset.metadata.name).values():
        if record.run is not None and (latest is None or started_at(record) > started_at(latest)):
            latest = record
    if latest is None:
        return None
    return Materialization(
        run=latest.run, time=latest.time, start_time=latest.start_time, data_version=latest.data_version,
        code_version=latest.code_version, partition=latest.partition, metadata=latest.metadata,
        lineage=collapse_lineage(latest.lineage),
    )


def with_latest_materialization(asset: Asset, *, records: RecordsOf) -> Asset:
    """`asset` holding its newest partition record as lastMaterialization, when that one is newer."""
    if asset.spec.partitions is None:
        return asset
    latest = latest_materialization(asset, records=records)
    if latest is None or not supersedes(latest, asset.status.last_materialization):
        return asset
    status = asset.status.model_copy(update={"last_materialization": latest})
    return asset.model_copy(update={"status": status})


def summarize_asset(
    asset: Asset, *, records: RecordsOf, assets: Mapping[str, Asset], now: datetime
) -> PartitionSummary | None:
    """The bounded summary of `asset`'s partitions at `now`, or None when it is unpartitioned."""
    try:
        space = build_space(asset, now=now, records=records)
    except PartitionError:
        return None  # a Run of it reports the problem (InvalidPartition)
    if space is None:
        return None
    materialized, failed, stale = judge_partitions(asset, space, records=records, assets=assets)
    return summarize(space, materialized=materialized, failed=failed, stale=stale)


def with_partition_summary(status: AssetStatus, summary: PartitionSummary | None, *, generation: int | None,
                           now: datetime) -> AssetStatus:
    """`status` carrying `summary`; stale partitions make the asset Stale (reason PartitionsStale) when it is not
    stale for another reason."""
    if summary is None:
        return status if status.partitions is None else status.model_copy(update={"partitions": None})
    update: dict = {"partitions": summary}
    stale = next((c for c in status.conditions if c.type == STALE), None)
    if summary.stale and (stale is None or stale.status != "True"):
        message = f"{summary.stale} of {summary.materialized} materialized partitions are stale"
        ranges = ", ".join(r.start if r.start == r.end else f"{r.start}...{r.end}" for r in summary.stale_ranges[:5])
        update["conditions"] = set_condition(status.conditions, type=STALE, status="True", reason="PartitionsStale",
                                             message=f"{message}: {ranges}" if ranges else message, now=now,
                                             generation=generation)
        update["stale_reasons"] = [message]
    return status.model_copy(update=update)
