"""Eager automation across partition spaces: an `Eager` partitioned asset whose partitioned upstreams have
another definition (a monthly report over daily partitions) materializes a partition once EVERY upstream
partition it reads is materialized, and again whenever one of them holds new data.

Level-based: the Asset reconciler calls it whenever the asset's upstream records change. The Run's name
derives from the asset, the partition and the exact upstream data it will read (run and dataVersion of each
partition), so the same upstream state never starts two Runs (a Run that failed is not retried until an
upstream changes), and a restart repeats nothing. Upstreams in the same partition space are left to the Run-level
eager automation (see `automation`), which follows the triggering Run's partition.

Does not: create Runs (the Asset reconciler does).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

from kasset.api.asset import Asset
from kasset.api.common import AssetSelection
from kasset.api.contract import LABEL_TRIGGER
from kasset.api.run import RunSpec, Trigger
from kasset.planning.model import RunRequest
from kasset.planning.names import derived_run_name
from kasset.planning.partitions import downstream_keys
from kasset.planning.runpartitions import (
    RecordsOf,
    StepPartitions,
    build_space,
    definition_key,
    read_partitions,
)

#: Most Runs one reconcile of an asset requests (the rest follow on the next reconciles).
MAX_REQUESTS_PER_RECONCILE = 50


def cross_space_upstreams(asset: Asset, assets: Mapping[str, Asset]) -> list[str]:
    """The partitioned upstreams of `asset` whose partitions are defined otherwise than its own."""
    if asset.spec.partitions is None:
        return []
    own = definition_key(asset.spec.partitions)
    found = []
    for dep in asset.spec.deps:
        upstream = assets.get(dep.asset)
        if upstream is not None and upstream.spec.partitions is not None:
            if definition_key(upstream.spec.partitions) != own:
                found.append(dep.asset)
    return found


def plan_partition_eager_runs(
    asset: Asset, *, assets: Mapping[str, Asset], records: RecordsOf, now: datetime
) -> tuple[RunRequest, ...]:
    """Runs for the partitions of Eager `asset` whose upstream partitions are all materialized and newer than
    what the partition last read."""
    cross = cross_space_upstreams(asset, assets) if asset.spec.automation == "Eager" else []
    if not cross:
        return ()
    space = build_space(asset, now=now, records=records)
    candidates: set[str] = set()
    for name in cross:
        dep = next(d for d in asset.spec.deps if d.asset == name)
        up_space = build_space(assets[name], now=now, records=records)
        for key, record in records(name).items():
            if record.run is not None and up_space.contains(key):
                candidates.update(downstream_keys(dep.partition_mapping, upstream=up_space, key=key, downstream=space))
    requests = []
    for key in sorted(candidates, key=space.index_of):
        inputs = _inputs_if_complete(asset, key, space=space, assets=assets, records=records, now=now)
        if inputs is None or _consumed(records(asset.metadata.name).get(key), inputs):
            continue
        requests.append(_request(asset, key, inputs))
        if len(requests) >= MAX_REQUESTS_PER_RECONCILE:
            break
    return tuple(requests)


def _inputs_if_complete(
    asset: Asset, key: str, *, space, assets: Mapping[str, Asset], records: RecordsOf, now: datetime
) -> list[tuple[str, str | None, str, str | None]] | None:
    """(upstream, partition, run, dataVersion) of everything partition `key` reads, or None while some of it
    is missing or failed."""
    step = StepPartitions(keys=(key,), space=space)
    inputs = []
    for dep in asset.spec.deps:
        upstream = assets.get(dep.asset)
        if upstream is None:
            return None
        keys = read_partitions(asset, dep, step=step, upstream=upstream, now=now, records=records)
        if keys is None:
            last = upstream.status.last_materialization
            if last is None:
                return None
            inputs.append((dep.asset, None, last.run, last.data_version))
            continue
        held = records(dep.asset)
        for up_key in keys:
            record = held.get(up_key)
            if record is None or record.run is None or record.failed_run is not None:
                return None
            inputs.append((dep.asset, up_key, record.run, record.data_version))
    return inputs or None


def _consumed(record, inputs) -> bool:
    if record is None or record.run is None:
        return False
    read = {(e.asset, e.partition): (e.run, e.data_version) for e in record.lineage}
    return all(read.get((name, key)) == (run, version) for name, key, run, version in inputs)


def _request(asset: Asset, key: str, inputs) -> RunRequest:
    name = asset.metadata.name
    digest = hashlib.sha256(repr(sorted(inputs, key=repr)).encode()).hexdigest()[:16]
    run_key = f"eager/{name}/{key}/{digest}"
    spec = RunSpec(
        selection=AssetSelection(assets=[name]), partition=key,
        trigger=Trigger(type="Automation", source=f"Asset/{name}"), run_key=run_key,
    )
    return RunRequest(name=derived_run_name(f"{name}-eager", run_key), spec=spec,
                      labels={LABEL_TRIGGER: "automation"})
