"""Write per-partition records into PartitionSlices: a Run reconciler's helper, called before the Run's status
counts the steps finished (so a crash in between repeats the write, and merging the same record again is a
no-op: exactly once, as for `lastMaterialization`).

Records are grouped by slice: one status write per touched slice (a 10,000-key single-run range touches at most
256). A record already held stays in its slice; a new one goes to the slice its key hashes to. A slice is
created on first use, owned by its Asset (garbage-collected with it).

Does not: decide what a record says (see `kasset.planning.partitionrecords`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kasset.api.base import API_VERSION, to_manifest
from kasset.api.contract import LABEL_ASSET
from kasset.api.partitionslice import MAX_RECORDS_PER_SLICE, PartitionRecord
from kasset.k8s import ApiError, Conflict, NotFound
from kasset.planning.names import sanitize_label_value
from kasset.planning.partitions import PartitionError
from kasset.planning.runpartitions import build_space
from kasset.planning.partitionrecords import (
    PartitionRecordUpdate,
    bound_slice_records,
    merge_record,
    registration_records,
    slice_name,
)
from kasset.reconcilers.runtime import Runtime
from kasset.reconcilers.status import write_status
from kasset.runtime.cache import NamespaceCache

log = logging.getLogger("kasset.partitions")
CONFLICT_RETRIES = 5


def write_partition_records(rt: Runtime, ns: NamespaceCache, updates: Iterable[PartitionRecordUpdate]) -> None:
    """Merge every update into its asset's slices; raises ApiError when a slice cannot be written."""
    grouped: dict[tuple[str, str], list[PartitionRecord]] = {}
    sizes: dict[str, int] = {}
    for update in updates:
        asset = ns.get(update.asset)
        if asset is None or asset.spec.partitions is None:
            continue
        if update.asset not in sizes:  # the planner's count, else (dynamic keys) count them here
            sizes[update.asset] = update.partitions or _space_size(rt, ns, asset)
        held = ns.slice_of(update.asset, update.record.partition)
        name = held or slice_name(update.asset, update.record.partition, partitions=sizes[update.asset])
        grouped.setdefault((update.asset, name), []).append(update.record)
    for (asset, name), records in grouped.items():
        _write_slice(rt, ns, asset=asset, name=name, records=records)
        rt.queue.add(("Asset", ns.name, asset))  # its summary changed
        rt.enqueue("Asset", ns.name, ns.record_readers(asset))  # e.g. a month whose last day just arrived


def register_dynamic_keys(rt: Runtime, ns: NamespaceCache, reported: Iterable[tuple[str, tuple[str, ...]]]) -> None:
    """Add the keys each asset's step reported to the dynamic dimension of every asset whose `addedBy` names
    it (a record without a materialization: the partition exists, missing)."""
    updates = []
    for source, keys in reported:
        for target in ns.dynamic_targets(source):
            asset = ns.get(target)
            if asset is None or asset.spec.partitions is None or len(asset.spec.partitions.dimensions) != 1:
                continue
            records, refused = registration_records(asset, keys)
            if refused:
                log.warning("Asset %s/%s: refused %d partition keys reported by %s: %s", ns.name, target,
                            len(refused), source, "; ".join(refused[:3]))
            updates += [PartitionRecordUpdate(asset=target, record=record) for record in records]
    write_partition_records(rt, ns, updates)


def _space_size(rt: Runtime, ns: NamespaceCache, asset) -> int:
    """How many partitions the asset has now: the slice count grows with it, so that concurrent Runs of
    different partitions write different slices from the start."""
    try:
        space = build_space(asset, now=rt.clock(), records=ns.records_of)
    except PartitionError:
        space = None
    return len(space) if space is not None else ns.partition_count(asset.metadata.name)


def _write_slice(rt: Runtime, ns: NamespaceCache, *, asset: str, name: str, records: list[PartitionRecord]) -> None:
    for _attempt in range(CONFLICT_RETRIES):
        raw = ns.slice_raw(name) or _create_slice(rt, ns, asset=asset, name=name)
        current = (raw.get("status") or {}).get("records") or []
        merged = _merge(current, records, slice_name=name)
        if merged is None:
            return
        try:
            write_status(rt, "partitionslices", raw["metadata"], {"records": current}, {"records": merged})
            log.info("Recorded %d partition%s of Asset %s/%s in PartitionSlice %s", len(records),
                     "s" if len(records) != 1 else "", ns.name, asset, name)
            return
        except Conflict:
            _refresh(rt, ns, name)
    raise ApiError(f"could not write PartitionSlice {name}: conflicts")


def _merge(current: list[dict], records: list[PartitionRecord], *, slice_name: str) -> list[dict] | None:
    """The slice's records with `records` merged in (bounded in count and bytes), or None when nothing
    changes."""
    by_key = {raw["partition"]: PartitionRecord.model_validate(raw) for raw in current}
    changed = False
    for record in records:
        if record.partition not in by_key and len(by_key) >= MAX_RECORDS_PER_SLICE:
            log.warning("PartitionSlice %s holds %d records: partition %s is not recorded", slice_name,
                        MAX_RECORDS_PER_SLICE, record.partition)
            continue
        merged = merge_record(by_key.get(record.partition), record)
        if merged is not None:
            by_key[record.partition] = merged
            changed = True
    return [to_manifest(r) for r in bound_slice_records(list(by_key.values()))] if changed else None


def _create_slice(rt: Runtime, ns: NamespaceCache, *, asset: str, name: str) -> dict:
    owner = ns.get(asset)
    body = {
        "apiVersion": API_VERSION, "kind": "PartitionSlice",
        "metadata": {"name": name, "labels": {LABEL_ASSET: sanitize_label_value(asset)},
                     "ownerReferences": [{"apiVersion": API_VERSION, "kind": "Asset", "name": asset,
                                          "uid": owner.metadata.uid}] if owner and owner.metadata.uid else []},
        "spec": {"asset": asset},
    }
    created, _ = rt.kube.create("partitionslices", ns.name, body)
    if created is None:
        created = rt.kube.get("partitionslices", ns.name, name)
    ns.put_slice(created)
    return ns.slice_raw(name) or created


def _refresh(rt: Runtime, ns: NamespaceCache, name: str) -> None:
    try:
        ns.put_slice(rt.kube.get("partitionslices", ns.name, name))
    except NotFound:
        ns.delete_slice(name)
