"""Which partitions each asset step of a Run materializes, and which upstream partitions it reads.

A Run names one partition key (`spec.partition`) or a range of keys (`spec.partitionRange`). Every asset of the
Run that declares `spec.partitions` must share one definition (as a Dagster job's assets share one
PartitionsDefinition): the key is checked against it, a range must fit each asset's `backfillPolicy`, and a
partitioned asset cannot run without a key. Assets without `spec.partitions` receive the Run's key unchecked,
as a plain label (what Runs did before partitions existed).

Reading: a dependency's partition mapping (`deps[].partitionMapping`, or the default for the two definitions)
names the exact upstream partitions a partition reads — one (identity, offset, a coarser window), several (the
30 or 31 days of a month) or none (unpartitioned upstream).

Does not: enumerate windows or map keys (see `kasset.planning.partitions`), or render URIs (see `stepcontract`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from kasset.api.asset import Asset, AssetDependency
from kasset.api.partitions import PartitionsDefinition
from kasset.api.partitionslice import PartitionRecord
from kasset.api.run import Run
from kasset.planning.dag import Problem
from kasset.planning.partitions import PartitionError, PartitionSpace, default_mapping, upstream_keys

#: Records of an asset's partitions by key (the operator's cache of PartitionSlices).
RecordsOf = Callable[[str], Mapping[str, PartitionRecord]]


def no_records(asset: str) -> Mapping[str, PartitionRecord]:
    return {}


@dataclass(frozen=True)
class StepPartitions:
    """What one partitioned asset step materializes: `keys` in order (one, or a range's), and the time window
    they cover when the definition has a time dimension."""

    keys: tuple[str, ...]
    space: PartitionSpace
    window: tuple[datetime, datetime] | None = None

    @property
    def key(self) -> str:
        """KASSET_PARTITION: the key, or a range's first key."""
        return self.keys[0]

    @property
    def range(self) -> tuple[str, str] | None:
        return (self.keys[0], self.keys[-1]) if len(self.keys) > 1 else None

    @property
    def label(self) -> str:
        """How records and lineage name what was materialized: the key, or `first...last`."""
        return self.key if len(self.keys) == 1 else f"{self.keys[0]}...{self.keys[-1]}"


@dataclass(frozen=True)
class RunPartitions:
    """The Run's partitions: per partitioned asset, and the plain key for the others."""

    by_asset: Mapping[str, StepPartitions]
    plain_key: str | None

    def of(self, asset: str | None) -> StepPartitions | None:
        return self.by_asset.get(asset) if asset else None

    def label_of(self, asset: str | None) -> str | None:
        found = self.of(asset)
        return found.label if found is not None else self.plain_key


UNPARTITIONED_RUN = RunPartitions(by_asset={}, plain_key=None)


def definition_key(definition: PartitionsDefinition) -> str:
    """A canonical text of a definition: two assets share a partition space when theirs are equal."""
    return json.dumps(definition.model_dump(mode="json", by_alias=True, exclude_none=True), sort_keys=True)


def build_space(asset: Asset, *, now: datetime, records: RecordsOf = no_records) -> PartitionSpace | None:
    """The partition space of `asset` at `now` (None when it is unpartitioned), with the dynamic keys its
    records hold."""
    definition = asset.spec.partitions
    if definition is None:
        return None
    dynamic = [dim.name for dim in definition.dimensions if dim.dynamic is not None]
    added: dict[str, list[str]] = {}
    if dynamic:
        for key in records(asset.metadata.name):
            parts = key.split("|")
            for position, dim in enumerate(definition.dimensions):
                if dim.dynamic is not None and position < len(parts):
                    added.setdefault(dim.name, []).append(parts[position])
    return PartitionSpace.from_definition(definition, now=now, dynamic_keys=added)


def resolve_run_partitions(
    run: Run, assets: Mapping[str, Asset], *, asset_names: list[str], now: datetime, records: RecordsOf = no_records
) -> RunPartitions | Problem:
    """The partitions of each asset step of `run` (`asset_names`: the Run's asset steps), or the Problem
    (InvalidPartition, PartitionRequired) that fails the Run."""
    partitioned = [name for name in asset_names if assets[name].spec.partitions is not None]
    key, span = run.spec.partition, run.spec.partition_range
    if not partitioned:
        if span is not None:
            return Problem("InvalidPartition", "spec.partitionRange: none of the Run's assets has spec.partitions")
        return RunPartitions(by_asset={}, plain_key=key)
    definitions = {definition_key(assets[name].spec.partitions): name for name in partitioned}
    if len(definitions) > 1:
        names = ", ".join(sorted(definitions.values()))
        return Problem("InvalidPartition", f"assets {names} have different spec.partitions: one Run materializes "
                       "one partition space (put them in separate Jobs, linked by partition mappings)")
    if key is None and span is None:
        return Problem("PartitionRequired", f"asset {partitioned[0]} is partitioned: set spec.partition or "
                       "spec.partitionRange")
    try:
        space = build_space(assets[partitioned[0]], now=now, records=records)
    except PartitionError as exc:
        return Problem("InvalidPartition", f"asset {partitioned[0]}: spec.partitions: {exc}")
    keys = _keys_of(run, space)
    if isinstance(keys, Problem):
        return keys
    for name in partitioned:
        problem = _check_batch(assets[name], len(keys))
        if problem is not None:
            return problem
    window = _window_of(space, keys)
    step = StepPartitions(keys=tuple(keys), space=space, window=window)
    return RunPartitions(by_asset={name: step for name in partitioned}, plain_key=key)


def _keys_of(run: Run, space: PartitionSpace) -> list[str] | Problem:
    if run.spec.partition is not None:
        problem = space.validate_key(run.spec.partition)
        if problem is not None:
            return Problem("InvalidPartition", f"spec.partition: {problem}")
        return [run.spec.partition]
    span = run.spec.partition_range
    for field, key in (("start", span.start), ("end", span.end)):
        problem = space.validate_key(key)
        if problem is not None:
            return Problem("InvalidPartition", f"spec.partitionRange.{field}: {problem}")
    keys = space.keys_in_range(span.start, span.end)
    if not keys:
        return Problem("InvalidPartition", f"spec.partitionRange: {span.end} comes before {span.start}")
    return list(keys)


def _check_batch(asset: Asset, count: int) -> Problem | None:
    if count == 1:
        return None
    policy = asset.spec.partitions.backfill_policy
    if policy is not None and policy.type == "SingleRun":
        return None
    limit = policy.max_partitions_per_run if policy is not None else 1
    if count <= limit:
        return None
    return Problem("InvalidPartition", f"spec.partitionRange: asset {asset.metadata.name} materializes at most "
                   f"{limit} partition{'s' if limit != 1 else ''} per Run (spec.partitions.backfillPolicy), "
                   f"the range has {count}")


def _window_of(space: PartitionSpace, keys: list[str]) -> tuple[datetime, datetime] | None:
    first, last = space.window(keys[0]), space.window(keys[-1])
    if first is None or last is None:
        return None
    return first[0], last[1]


def mapping_of(asset: Asset, dep: AssetDependency, upstream: Asset) -> str:
    """The mapping type in force for `dep` of `asset`: the declared one, else the default for the two
    definitions."""
    declared = dep.partition_mapping
    if declared is not None and declared.type is not None:
        return declared.type
    return default_mapping(asset.spec.partitions, upstream.spec.partitions)


def read_partitions(
    asset: Asset, dep: AssetDependency, *, step: StepPartitions | None, upstream: Asset, now: datetime,
    records: RecordsOf = no_records,
) -> list[str] | None:
    """The upstream partition keys that `step` of `asset` reads through `dep`, in upstream order; None when the
    upstream is read unpartitioned (it has no partitions, or the mapping says Unpartitioned)."""
    up_space = build_space(upstream, now=now, records=records)
    if up_space is None or mapping_of(asset, dep, upstream) == "Unpartitioned":
        return None
    mapping = dep.partition_mapping
    if step is None:
        return list(upstream_keys(mapping, downstream=None, key=None, upstream=up_space))
    found: list[str] = []
    seen: set[str] = set()
    for key in step.keys:
        for up_key in upstream_keys(mapping, downstream=step.space, key=key, upstream=up_space):
            if up_key not in seen:
                seen.add(up_key)
                found.append(up_key)
    return found
