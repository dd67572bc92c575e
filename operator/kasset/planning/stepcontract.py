"""Compute the step contract values of a step about to launch: params, partition, output and input URIs,
fan-out items.

Inputs are the output locations of the step's dependencies: for a dependency in the same Run, where that step
wrote; for an upstream asset outside the Run, where it wrote the partition read (the run of that partition's
record, else of its last materialization). Partitions: a step reads exactly the upstream partitions its
partition maps to (see `runpartitions`). When that is one partition (or the upstream is unpartitioned),
KASSET_INPUTS gives its URI; when it is several (the 31 days of a month), KASSET_INPUTS gives the URI template
with `{partition}` left in and KASSET_INPUT_PARTITIONS gives every key's URI (up to MAX_INPUT_PARTITIONS).
A range Run's output URI keeps `{partition}` for the step to fill per key.

Does not: render environment variables (see `kasset.builders.env`) or read storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kasset.api.asset import Asset
from kasset.api.job import Job
from kasset.api.run import Run, StepStatus
from kasset.planning.graph import StepGraph, StepNode
from kasset.planning.model import StepContract
from kasset.planning.params import apply_param_defaults
from kasset.planning.runpartitions import (
    UNPARTITIONED_RUN,
    RecordsOf,
    RunPartitions,
    no_records,
    read_partitions,
)
from kasset.planning.settings import PlanSettings
from kasset.planning.storage import render_storage_uri

#: Most upstream partitions listed one by one in KASSET_INPUT_PARTITIONS (beyond: the template only).
MAX_INPUT_PARTITIONS = 1000
#: What `{partition}` renders to when the step fills it in itself.
PARTITION_PLACEHOLDER = "{partition}"


def resolve_params(run: Run, job: Job | None) -> dict[str, Any]:
    """The Run's params over the defaults of the Job's paramsSchema top-level properties."""
    return apply_param_defaults(run.spec.params, job.spec.params_schema if job is not None else None)


def build_step_contract(
    node: StepNode,
    *,
    run: Run,
    graph: StepGraph,
    statuses: Mapping[str, StepStatus],
    assets: Mapping[str, Asset],
    params: dict[str, Any],
    settings: PlanSettings,
    partitions: RunPartitions = UNPARTITIONED_RUN,
    records: RecordsOf = no_records,
    now: datetime | None = None,
) -> StepContract:
    """The contract values for `node` in `run` (a check step gets its asset's partition and output)."""
    subject = node.check_of or node.asset
    step = partitions.of(subject)
    partition = step.key if step is not None else partitions.plain_key
    inputs: dict[str, str] = {}
    input_partitions: dict[str, dict[str, str]] = {}
    for dep in () if node.check_of else (*node.depends_on, *node.external_inputs):
        found = _input(node, dep, run=run, graph=graph, assets=assets, partitions=partitions, records=records,
                       settings=settings, now=now)
        if found is not None:
            inputs[dep], listed = found
            if listed is not None:
                input_partitions[dep] = listed
    items = items_uri = None
    if node.fan_out_from is not None:
        source = statuses[node.fan_out_from]
        items = tuple(source.items) if source.items is not None else None
        items_uri = source.result_ref if items is None else None
    window = step.window if step is not None else None
    return StepContract(
        namespace=run.metadata.namespace or "default",
        run=run.metadata.name,
        step=node.name,
        asset=subject,
        partition=partition,
        params=params,
        output_uri=_in_run_uri(graph.find(node.check_of) if node.check_of else node, run,
                               PARTITION_PLACEHOLDER if step is not None and step.range else partition),
        inputs=inputs,
        code_version=node.code_version,
        items=items,
        items_uri=items_uri,
        partition_range=step.range if step is not None else None,
        window=(window[0].isoformat(), window[1].isoformat()) if window is not None else None,
        input_partitions=input_partitions,
        check=node.check,
    )


def _input(
    node: StepNode, dep: str, *, run: Run, graph: StepGraph, assets: Mapping[str, Asset],
    partitions: RunPartitions, records: RecordsOf, settings: PlanSettings, now: datetime | None,
) -> tuple[str, dict[str, str] | None] | None:
    """(KASSET_INPUTS value, the per-key URIs when several partitions are read) for dependency `dep`."""
    upstream = assets.get(dep)
    in_run = graph.find(dep) if dep in node.depends_on else None
    if upstream is None and in_run is None:
        return None
    keys = _read_keys(node, dep, assets=assets, partitions=partitions, records=records, now=now)

    def uri(partition: str | None) -> str:
        if in_run is not None:
            return _in_run_uri(in_run, run, partition)
        return _external_uri(dep, upstream, run=run, partition=partition, records=records, settings=settings)

    if keys is None:
        legacy = partitions.plain_key if upstream is None or upstream.spec.partitions is None else None
        return uri(None if _reads_unpartitioned(node, dep, assets) else legacy), None
    if len(keys) == 1:
        return uri(keys[0]), None
    listed = {key: uri(key) for key in keys[:MAX_INPUT_PARTITIONS]} if len(keys) <= MAX_INPUT_PARTITIONS else None
    return uri(PARTITION_PLACEHOLDER), listed


def _read_keys(node: StepNode, dep: str, *, assets: Mapping[str, Asset], partitions: RunPartitions,
               records: RecordsOf, now: datetime | None) -> list[str] | None:
    asset = assets.get(node.asset) if node.asset else None
    upstream = assets.get(dep)
    if asset is None or upstream is None or upstream.spec.partitions is None or now is None:
        return None
    declared = next((d for d in asset.spec.deps if d.asset == dep), None)
    if declared is None:
        return None
    return read_partitions(asset, declared, step=partitions.of(node.asset), upstream=upstream, now=now,
                           records=records)


def _reads_unpartitioned(node: StepNode, dep: str, assets: Mapping[str, Asset]) -> bool:
    """Whether `dep` is read without a partition: declared Unpartitioned, or an unpartitioned upstream of a
    partitioned asset."""
    asset = assets.get(node.asset) if node.asset else None
    if asset is None:
        return False
    for declared in asset.spec.deps:
        if declared.asset == dep and declared.partition_mapping and declared.partition_mapping.type == "Unpartitioned":
            return True
    return asset.spec.partitions is not None


def _in_run_uri(node: StepNode | None, run: Run, partition: str | None) -> str:
    assert node is not None, "dependencies of a resolved graph are nodes of it"
    return render_storage_uri(
        node.storage,
        namespace=run.metadata.namespace or "default",
        asset=node.asset,
        step=node.name,
        run=run.metadata.name,
        partition=partition,
    )


def _external_uri(
    name: str, asset: Asset, *, run: Run, partition: str | None, records: RecordsOf, settings: PlanSettings
) -> str:
    record = records(name).get(partition) if partition not in (None, PARTITION_PLACEHOLDER) else None
    last = asset.status.last_materialization
    producer = record.run if record is not None and record.run else (last.run if last else "")
    template = asset.spec.storage or settings.default_asset_storage
    return render_storage_uri(template, namespace=run.metadata.namespace or "default", asset=name, step=name,
                              run=producer or "", partition=partition)
