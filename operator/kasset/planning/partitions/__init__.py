"""Partitions, pure: the keys of a partition definition at a given time, mappings between assets' partitions,
ranges and batches of keys, and the bounded summary of their states. No cluster, no clock of its own (`now` is
an argument), no kopf and no Kubernetes client.

Entry points:
- `PartitionSpace.from_definition` every key in order, key checks and messages, windows, keys of a time range
- `default_mapping` / `check_mapping` the mapping type a dependency gets, and why a mapping does not apply
- `upstream_keys` / `downstream_keys` which upstream partitions a partition reads, and who reads one
- `to_ranges` / `split_into_batches` / `batches_for_policy` runs of consecutive keys, and a backfill's Runs
- `summarize` counts and ranges for an Asset's status, bounded
- `check_dimension_key` whether a reported dynamic key can be stored

Windows and DST are explained in `_grids`; the order of keys in `_keyspace`.
"""

from kasset.planning.partitions._grids import PartitionError
from kasset.planning.partitions._keyaxis import check_dimension_key
from kasset.planning.partitions._keyspace import MAX_PARTITIONS, PartitionSpace
from kasset.planning.partitions._mapping import (
    check_mapping,
    default_mapping,
    downstream_keys,
    resolve_mapping,
    upstream_keys,
)
from kasset.planning.partitions._ranges import batches_for_policy, split_into_batches, to_ranges
from kasset.planning.partitions._summary import summarize

__all__ = [
    "MAX_PARTITIONS",
    "PartitionError",
    "PartitionSpace",
    "batches_for_policy",
    "check_dimension_key",
    "check_mapping",
    "default_mapping",
    "downstream_keys",
    "resolve_mapping",
    "split_into_batches",
    "summarize",
    "to_ranges",
    "upstream_keys",
]
