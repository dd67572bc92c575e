"""Build the `lastMaterialization` record of an asset step that just succeeded, with its lineage.

Lineage names, for each upstream asset, the exact run and dataVersion consumed: the upstream step's result
when the upstream was materialized in the same Run, else the upstream Asset's current `lastMaterialization`
(read when the step finished — a materialization of the upstream during the step is not told apart).

Does not: write Asset status, or judge staleness (see `staleness`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kasset.api.asset import Asset, LineageEntry, Materialization
from kasset.api.run import StepStatus


def build_lineage(
    asset: Asset,
    *,
    run_name: str,
    partition: str | None,
    statuses: Mapping[str, StepStatus],
    assets: Mapping[str, Asset],
) -> list[LineageEntry]:
    """One entry per declared dependency of `asset`, in spec order."""
    entries = []
    for dep in asset.spec.deps:
        mapping = dep.partition_mapping.type if dep.partition_mapping else "Identity"
        dep_partition = None if mapping == "Unpartitioned" else partition
        step = statuses.get(dep.asset)
        if step is not None and step.asset == dep.asset and step.state == "Succeeded":
            entries.append(
                LineageEntry(asset=dep.asset, run=run_name, data_version=step.data_version, partition=dep_partition)
            )
            continue
        upstream = assets.get(dep.asset)
        last = upstream.status.last_materialization if upstream is not None else None
        if last is None:
            entries.append(LineageEntry(asset=dep.asset))
        else:
            entries.append(
                LineageEntry(asset=dep.asset, run=last.run, data_version=last.data_version, partition=last.partition)
            )
    return entries


def build_materialization(
    asset: Asset,
    *,
    run_name: str,
    partition: str | None,
    step: StepStatus,
    statuses: Mapping[str, StepStatus],
    assets: Mapping[str, Asset],
    metadata: Mapping[str, Any],
    now: datetime,
) -> Materialization:
    """The record for `asset.status.lastMaterialization` after `step` (Succeeded) of `run_name`."""
    return Materialization(
        run=run_name,
        time=step.completion_time or now,
        start_time=step.start_time,
        data_version=step.data_version or run_name,
        code_version=asset.spec.code_version,
        partition=partition,
        metadata=dict(metadata),
        result_ref=step.result_ref,
        lineage=build_lineage(asset, run_name=run_name, partition=partition, statuses=statuses, assets=assets),
    )
