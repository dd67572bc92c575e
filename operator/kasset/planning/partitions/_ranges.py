"""Ranges of consecutive partitions: runs of keys in a space's order, and batches of them for backfills.

A batch is what one Run materializes (`spec.partition` or `spec.partitionRange`), so a batch is always a range
of consecutive keys: batches never span a key that was not asked for.
- `to_ranges` the maximal runs of consecutive keys that belong to a set (summaries, Backfill status)
- `split_into_batches` keys already in order, cut into batches of at most N (None: one batch)
- `batches_for_policy` any keys of a space, in ranges, cut as a BackfillPolicy says (MultiRun N: at most N per
  batch; SingleRun: one batch per range, a single one when the keys are consecutive)

Does not: create Runs (see `kasset.planning.backfill`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence

from kasset.api.partitions import BackfillPolicy, PartitionRange
from kasset.planning.partitions._keyspace import PartitionSpace


def iter_runs(ordered_keys: Iterable[str], members: Collection[str]) -> Iterator[tuple[str, str, int]]:
    """(first, last, count) of each maximal run of consecutive keys of `ordered_keys` that are in `members`."""
    first = last = ""
    count = 0
    for key in ordered_keys:
        if key in members:
            first, last, count = (first if count else key), key, count + 1
        elif count:
            yield first, last, count
            count = 0
    if count:
        yield first, last, count


def to_ranges(ordered_keys: Iterable[str], members: Collection[str]) -> list[PartitionRange]:
    """The maximal runs of consecutive keys of `ordered_keys` that are in `members`, in order."""
    runs = iter_runs(ordered_keys, members)
    return [PartitionRange(start=first, end=last, count=count) for first, last, count in runs]


def split_into_batches(keys: Sequence[str], max_per_batch: int | None) -> list[list[str]]:
    """`keys` cut into consecutive batches of at most `max_per_batch` keys (None: a single batch)."""
    if not keys:
        return []
    if max_per_batch is None:
        return [list(keys)]
    if max_per_batch < 1:
        raise ValueError(f"max_per_batch must be at least 1, got {max_per_batch}")
    return [list(keys[i: i + max_per_batch]) for i in range(0, len(keys), max_per_batch)]


def consecutive_runs(keys: Iterable[str], *, space: PartitionSpace) -> list[list[str]]:
    """The partitions among `keys`, in the space's order, grouped into runs of consecutive keys (keys that are
    not partitions of the space are dropped)."""
    positions = sorted({space.index_of(key) for key in keys if key in space})
    runs: list[list[str]] = []
    last = -2
    for position in positions:
        key = space.key_at(position)
        if position == last + 1:
            runs[-1].append(key)
        else:
            runs.append([key])
        last = position
    return runs


def batches_for_policy(
    keys: Iterable[str], policy: BackfillPolicy | None, *, space: PartitionSpace
) -> list[list[str]]:
    """The Runs' batches for `keys` under `policy` (None: MultiRun with 1, one partition per Run)."""
    limit = None if policy is not None and policy.type == "SingleRun" else (
        policy.max_partitions_per_run if policy is not None else 1
    )
    return [batch for run in consecutive_runs(keys, space=space) for batch in split_into_batches(run, limit)]
