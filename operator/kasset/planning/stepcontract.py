"""Compute the step contract values of a step about to launch: params, output and input URIs, fan-out items.

Inputs are the output locations of the step's dependencies: for a dependency in the same Run, where that step
wrote; for an upstream asset outside the Run, where its last materialization wrote. A dependency declared
`partitionMapping: Unpartitioned` is read without a partition.

Does not: render environment variables (see `kasset.builders.env`) or read storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kasset.api.asset import Asset
from kasset.api.job import Job
from kasset.api.run import Run, StepStatus
from kasset.planning.graph import StepGraph, StepNode
from kasset.planning.model import StepContract
from kasset.planning.params import apply_param_defaults
from kasset.planning.settings import PlanSettings
from kasset.planning.storage import render_storage_uri


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
) -> StepContract:
    """The contract values for `node` in `run`."""
    namespace = run.metadata.namespace or "default"
    partition = run.spec.partition
    inputs = {
        dep: _in_run_uri(graph.find(dep), run, _input_partition(node, dep, assets=assets, partition=partition))
        for dep in node.depends_on
    }
    for dep in node.external_inputs:
        dep_partition = _input_partition(node, dep, assets=assets, partition=partition)
        uri = _external_uri(dep, assets, namespace=namespace, partition=dep_partition, settings=settings)
        if uri is not None:
            inputs[dep] = uri
    items = items_uri = None
    if node.fan_out_from is not None:
        source = statuses[node.fan_out_from]
        items = tuple(source.items) if source.items is not None else None
        items_uri = source.result_ref if items is None else None
    return StepContract(
        namespace=namespace,
        run=run.metadata.name,
        step=node.name,
        asset=node.asset,
        partition=partition,
        params=params,
        output_uri=_in_run_uri(node, run, partition),
        inputs=inputs,
        code_version=node.code_version,
        items=items,
        items_uri=items_uri,
    )


def _input_partition(node: StepNode, dep: str, *, assets: Mapping[str, Asset], partition: str | None) -> str | None:
    asset = assets.get(node.asset) if node.asset else None
    if asset is None:
        return partition
    for declared in asset.spec.deps:
        if declared.asset == dep and declared.partition_mapping and declared.partition_mapping.type == "Unpartitioned":
            return None
    return partition


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
    name: str, assets: Mapping[str, Asset], *, namespace: str, partition: str | None, settings: PlanSettings
) -> str | None:
    asset = assets.get(name)
    if asset is None:
        return None
    last = asset.status.last_materialization
    template = asset.spec.storage or settings.default_asset_storage
    return render_storage_uri(
        template, namespace=namespace, asset=name, step=name, run=last.run if last else "", partition=partition
    )
