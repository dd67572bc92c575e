"""The bounded summary of an asset's partitions for its status: counts, and the first ranges of each state.

States, for each partition of the space (keys outside it are ignored):
- failed: its latest attempt failed (even when an older attempt had materialized it);
- materialized: materialized, and its latest attempt did not fail; stale ones are counted here too;
- stale: materialized (not failed) and judged stale by the caller;
- missing: neither materialized nor failed.
Each list keeps its first MAX_SUMMARY_RANGES ranges; `truncated` and `omittedRanges` say what was left out, so
that the summary stays far below the API server's object size whatever the pattern (at most ~110 KiB with 256-
character keys).

Does not: decide staleness or read records (see `kasset.planning.partitionstate`).
"""

from __future__ import annotations

from collections.abc import Collection

from kasset.api.partitions import MAX_SUMMARY_RANGES, OmittedRanges, PartitionRange, PartitionSummary
from kasset.planning.partitions._keyspace import PartitionSpace
from kasset.planning.partitions._ranges import iter_runs


def summarize(
    space: PartitionSpace, *, materialized: Collection[str], failed: Collection[str], stale: Collection[str]
) -> PartitionSummary:
    """The summary of `space` given the keys in each state (see the module's docstring for precedence)."""
    keys = space.keys()
    universe = set(keys)
    failed_now = {key for key in failed if key in universe}
    done = {key for key in materialized if key not in failed_now and key in universe}
    stale_now = {key for key in stale if key in done}
    missing = {key for key in keys if key not in done and key not in failed_now}
    lists = {
        "materialized": list(iter_runs(keys, done)),
        "failed": list(iter_runs(keys, failed_now)),
        "missing": list(iter_runs(keys, missing)),
        "stale": list(iter_runs(keys, stale_now)),
    }
    omitted = {state: max(0, len(ranges) - MAX_SUMMARY_RANGES) for state, ranges in lists.items()}
    truncated = any(omitted.values())
    return PartitionSummary(
        total=len(space),
        materialized=len(done),
        failed=len(failed_now),
        missing=len(missing),
        stale=len(stale_now),
        **{f"{state}_ranges": _bounded(ranges) for state, ranges in lists.items()},
        truncated=truncated,
        omitted_ranges=OmittedRanges(**omitted) if truncated else None,
    )


def _bounded(runs: list[tuple[str, str, int]]) -> list[PartitionRange]:
    """The first MAX_SUMMARY_RANGES runs as ranges."""
    return [PartitionRange(start=first, end=last, count=count) for first, last, count in runs[:MAX_SUMMARY_RANGES]]
