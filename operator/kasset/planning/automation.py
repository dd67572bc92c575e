"""Eager automation: Runs for `automation: Eager` assets downstream of assets a Run just materialized.

All Eager assets reachable from the materialized ones through Eager assets go into ONE Run, in dependency
order, so that an Eager asset with two upstreams materialized together runs once, and a chain of Eager assets
runs as a chain. An Eager asset waits while one of its upstreams (outside that set) was never materialized.
The Run's name derives from the triggering Run (name and uid) and partition, so it is never created twice.

Does not: handle OnCron automation (that needs a cron parser and belongs with Schedules).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kasset.api.asset import Asset
from kasset.api.common import AssetSelection
from kasset.api.contract import LABEL_SOURCE_RUN, LABEL_TRIGGER
from kasset.api.run import PartitionKeyRange, RunSpec, Trigger
from kasset.planning.catalog import AssetCatalog, as_catalog
from kasset.planning.model import RunRequest
from kasset.planning.names import derived_run_name, sanitize_label_value
from kasset.planning.runpartitions import definition_key



def find_eager_assets(
    materialized: Iterable[str], assets: Mapping[str, Asset] | AssetCatalog, *, exclude: Iterable[str] = (),
    space: str | None = None,
) -> list[str]:
    """Eager assets to materialize after `materialized`, sorted by name; `exclude` (e.g. assets the source Run
    attempted and failed) are never chosen. Walks only the dependants of what was chosen so far. A partitioned
    asset is chosen only in its own partition space (`space`: the source Run's, see `definition_key`); across
    spaces, `partitionautomation` decides per partition."""
    catalog = as_catalog(assets)
    fresh = set(materialized)
    skip = fresh | set(exclude)
    chosen: set[str] = set()
    pending = sorted({d for name in fresh for d in catalog.dependants(name)})
    while pending:
        name = pending.pop()
        asset = catalog.get(name)
        if name in skip or name in chosen or asset is None or asset.spec.automation != "Eager":
            continue
        if asset.spec.partitions is not None and definition_key(asset.spec.partitions) != space:
            continue
        deps = [dep.asset for dep in asset.spec.deps]
        if all(_available(dep, fresh | chosen, catalog) for dep in deps):
            chosen.add(name)
            pending.extend(sorted(catalog.dependants(name)))
    return sorted(chosen)


def _available(name: str, fresh: set[str], catalog: AssetCatalog) -> bool:
    if name in fresh:
        return True
    upstream = catalog.get(name)
    return upstream is not None and upstream.status.last_materialization is not None


def plan_eager_runs(
    *,
    materialized: Iterable[str],
    attempted: Iterable[str] = (),
    source_run: str,
    source_uid: str | None,
    partition: str | None,
    assets: Mapping[str, Asset] | AssetCatalog,
    partition_range: PartitionKeyRange | None = None,
    space: str | None = None,
) -> tuple[RunRequest, ...]:
    """At most one RunRequest materializing the Eager assets downstream of `materialized` (asset names).
    `attempted` are the assets the source Run tried (none of them is chosen again)."""
    materialized = list(materialized)
    targets = find_eager_assets(materialized, assets, exclude=attempted, space=space)
    if not targets:
        return ()
    span = f"{partition_range.start}...{partition_range.end}" if partition_range is not None else None
    run_key = f"eager/{source_run}/{source_uid or ''}/{partition or span or ''}"
    spec = RunSpec(
        selection=AssetSelection(assets=targets),
        partition=partition,
        partition_range=partition_range,
        trigger=Trigger(type="Automation", source=f"Run/{source_run}"),
        run_key=run_key,
    )
    labels = {LABEL_TRIGGER: "automation", LABEL_SOURCE_RUN: sanitize_label_value(source_run)}
    return (RunRequest(name=derived_run_name(f"{source_run}-eager", run_key), spec=spec, labels=labels),)
