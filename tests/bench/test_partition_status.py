"""Status size of an Asset with 10,000 × 2 partitions: the summary in `status.partitions` is counts and
bounded ranges, never one entry per partition, so the status stays small however the partitions' states fall.

The worst case for ranges is alternation: consecutive partitions materialized, failed, missing and stale in
turn, so that every state has as many ranges as possible. The whole Asset status (conditions, a
lastMaterialization with metadata, the summary) is measured as the operator writes it (compact JSON).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from kasset.api.asset import AssetStatus
from kasset.api.base import json_size, to_manifest
from kasset.api.partitions import PartitionsDefinition
from kasset.planning.partitions import PartitionSpace, summarize
from support.benchresults import Figure

pytestmark = pytest.mark.bench

DEFINITION = PartitionsDefinition.model_validate({"dimensions": [
    {"name": "day", "timeWindow": {"cadence": "Daily", "start": "2000-01-01"}},
    {"name": "region", "static": {"keys": ["europe-west", "us-east"]}},
]})
NOW = datetime(2027, 5, 19, tzinfo=timezone.utc)  # 10,000 days after 2000-01-01


def test_an_asset_status_with_10000_by_2_partitions_stays_small(bench_results):
    space = PartitionSpace.from_definition(DEFINITION, now=NOW)
    keys = list(space.keys())
    started = time.perf_counter()
    summary = summarize(space, materialized={k for i, k in enumerate(keys) if i % 4 in (0, 3)},
                        failed={k for i, k in enumerate(keys) if i % 4 == 1},
                        stale={k for i, k in enumerate(keys) if i % 4 == 3})
    seconds = time.perf_counter() - started
    status = AssetStatus.model_validate({
        "observedGeneration": 1,
        "lastMaterialization": {"run": "r" * 253, "time": NOW, "dataVersion": "d" * 128,
                                "partition": keys[-1], "metadata": {"note": "x" * 16_000}},
        "partitions": to_manifest(summary),
    })
    size = json_size(to_manifest(status))
    figure = bench_results.record(Figure(
        key="partition-status", value=size / 1024, unit="KiB", samples=[seconds],
        note=(f"{len(keys)} partitions ({len(keys) // 2} days × 2 regions), states alternating; summary: "
              f"{json_size(to_manifest(summary)) / 1024:.1f} KiB, summarized in {seconds:.3f} s"),
        scale=len(keys) / 20_000,
        details={"partitions": len(keys), "summary KiB": json_size(to_manifest(summary)) / 1024,
                 "summarize seconds": seconds}))
    assert len(keys) == 20_000 and summary.truncated
    assert figure.goal_met, figure.failed_checks()
