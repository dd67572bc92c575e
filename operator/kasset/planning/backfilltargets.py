"""What a Backfill runs over: its assets (the Job's selection, or its own), their shared partitions definition,
the partition keys it covers, and those keys cut into batches (one Run each).

- The assets are the selection's (grown upstream/downstream only when it says so, as `graph.select_assets`
  does); every one must declare `spec.partitions`, all the same definition (compared as JSON).
- `from`/`to` take the windows of the definition's time-window dimension whose start is in [from, to) (with
  every key of the other dimensions); `keys` are checked one by one against the definition.
- Batches follow the definition's `backfillPolicy`: MultiRun cuts the keys into runs of at most
  `maxPartitionsPerRun` consecutive keys (keys that are not consecutive never share a batch, since a batch
  runs as a range from its first key to its last); SingleRun makes each stretch of consecutive keys one batch.

Problems come back as `Problem` values (InvalidSpec naming the field or assets; transient ones while the Job
of spec.jobRef does not exist yet, JobNotFound, or the assets' facts are not derived yet, DependenciesPending).

Does not: enumerate or order windows (see `kasset.planning.partitions`), or plan Runs (see `backfill`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from kasset.api.asset import Asset
from kasset.api.backfill import MAX_BACKFILL_PARTITIONS, Backfill
from kasset.api.job import Job
from kasset.api.partitions import BackfillPolicy, PartitionRange
from kasset.planning.catalog import AssetCatalog, as_catalog
from kasset.planning.dag import Problem
from kasset.planning.graph import select_assets
from kasset.planning.partitions import PartitionError, PartitionSpace, batches_for_policy, split_into_batches, to_ranges
from kasset.planning.runpartitions import definition_key

#: Assets named in an InvalidSpec message before "and N more".
NAMED_ASSETS = 5


@dataclass(frozen=True)
class BackfillTargets:
    """The batches of a Backfill (each a tuple of consecutive keys, in key order) and the keys of its partition
    space in order (to turn a set of keys into ranges)."""

    batches: tuple[tuple[str, ...], ...]
    ordered_keys: tuple[str, ...]


def format_range(start: str, end: str) -> str:
    """`start` for a one-key range, `start...end` otherwise (as Run annotations and messages name ranges)."""
    return start if start == end else f"{start}...{end}"


def failed_ranges(targets: BackfillTargets, failed: Collection[str]) -> list[PartitionRange]:
    """The keys of `failed` as ranges of consecutive keys of the space, in key order."""
    return to_ranges(targets.ordered_keys, failed) if failed else []


def resolve_backfill_targets(
    backfill: Backfill,
    *,
    job: Job | None,
    assets: Mapping[str, Asset] | AssetCatalog,
    now: datetime,
    job_problem: str | None = None,
) -> BackfillTargets | Problem:
    """The Backfill's batches, or why it has none. `job`: the Job of spec.jobRef (None when absent;
    `job_problem` says why it is invalid when it exists but does not parse)."""
    catalog = as_catalog(assets)
    selection = _selection(backfill, job, job_problem)
    if isinstance(selection, Problem):
        return selection
    chosen = select_assets(selection, catalog)
    if isinstance(chosen, Problem):
        return chosen if chosen.reason == "DependenciesPending" else Problem("InvalidSpec", chosen.message)
    definition = _shared_definition(sorted(chosen), catalog)
    if isinstance(definition, Problem):
        return definition
    try:
        space = PartitionSpace.from_definition(definition, now=now, dynamic_keys={})
    except PartitionError as exc:
        return Problem("InvalidSpec", f"the assets' spec.partitions: {exc}")
    keys = _keys(backfill, space)
    if isinstance(keys, Problem):
        return keys
    if backfill.spec.partitions.keys is None and len(space.dimensions) == 1:
        # a range of one time dimension is consecutive and in order already: no key is parsed again
        batches = split_into_batches(keys, _batch_limit(definition.backfill_policy))
        return BackfillTargets(batches=tuple(tuple(batch) for batch in batches), ordered_keys=tuple(keys))
    batches = batches_for_policy(keys, definition.backfill_policy, space=space)
    return BackfillTargets(batches=tuple(tuple(batch) for batch in batches), ordered_keys=tuple(space.keys()))


def _batch_limit(policy: BackfillPolicy | None) -> int | None:
    """Most keys per batch (None: one batch), as `batches_for_policy` reads the policy."""
    if policy is not None and policy.type == "SingleRun":
        return None
    return policy.max_partitions_per_run if policy is not None else 1


def _selection(backfill: Backfill, job: Job | None, job_problem: str | None):
    if backfill.spec.selection is not None:
        return backfill.spec.selection
    name = backfill.spec.job_ref.name
    if job_problem is not None:
        return Problem("InvalidSpec", f"spec.jobRef: Job {name} is invalid: {job_problem}")
    if job is None:  # not created yet (`kubectl apply -f folder/` in any order): wait, Pending
        return Problem("JobNotFound", f"spec.jobRef: Job {name} not found (waiting for it)", transient=True,
                       subject=name)
    if job.spec.selection is None:
        return Problem("InvalidSpec", f"spec.jobRef: Job {name} selects no assets (a Backfill runs partitioned "
                       "assets; explicit steps have no partitions)")
    return job.spec.selection


def _shared_definition(names: Sequence[str], catalog: AssetCatalog):
    unpartitioned = [name for name in names if catalog[name].spec.partitions is None]
    if unpartitioned:
        return Problem("InvalidSpec", f"assets {_name(unpartitioned)} are not partitioned (spec.partitions): a "
                       "Backfill runs partitioned assets only")
    by_definition: dict[str, list[str]] = {}
    for name in names:
        by_definition.setdefault(definition_key(catalog[name].spec.partitions), []).append(name)
    if len(by_definition) > 1:
        groups = "; ".join(_name(group) for group in by_definition.values())
        return Problem("InvalidSpec", f"the assets have different spec.partitions ({groups}): one Backfill runs "
                       "one partition space")
    return catalog[names[0]].spec.partitions


def _keys(backfill: Backfill, space: PartitionSpace) -> Sequence[str] | Problem:
    partitions = backfill.spec.partitions
    if partitions.keys is not None:
        for key in partitions.keys:
            problem = space.validate_key(key)
            if problem is not None:
                return Problem("InvalidSpec", f"spec.partitions.keys: {problem}")
        return partitions.keys
    if space.time_axis is None:
        return Problem("InvalidSpec", "spec.partitions.from: the assets' partitions have no timeWindow "
                       "dimension; list spec.partitions.keys instead")
    keys = space.keys_between(partitions.from_, partitions.to)
    if not keys:
        return Problem("InvalidSpec", f"spec.partitions: no partition starts in [{partitions.from_}, "
                       f"{partitions.to}) (windows count once they have ended)")
    if len(keys) > MAX_BACKFILL_PARTITIONS:
        return Problem("InvalidSpec", f"spec.partitions: [{partitions.from_}, {partitions.to}) covers {len(keys)} "
                       f"partitions, more than {MAX_BACKFILL_PARTITIONS}: split it into several Backfills")
    return keys


def _name(names: Sequence[str]) -> str:
    more = f" and {len(names) - NAMED_ASSETS} more" if len(names) > NAMED_ASSETS else ""
    return ", ".join(names[:NAMED_ASSETS]) + more
