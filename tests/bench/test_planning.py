"""Planning 10,000 Assets / 30,000 edges in process: the pure planner alone, no cluster.

The graph is the scale benches' (10 layers of 1,000 assets, 3 random dependencies each on the layer before,
fixed seed: 27,000 edges, the first layer having none). `plan_everything` is the one place that knows the
planner's API: it plans the status of every Asset from the namespace's Assets, as the operator does when it
(re)starts and on a change that reaches all of them. Timed with `time.perf_counter`, 5 repetitions, in a
child process that is stopped after `KASSET_BENCH_PLANNING_BUDGET` seconds (120 by default): a planner that
needs minutes is reported as such without holding the bench for them.
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
import queue
import time
from collections.abc import Mapping

import pytest

from kasset.api.asset import Asset, AssetStatus
from kasset.planning import DictCatalog, plan_asset_status
from support.benchload import bench_size, layered_graph
from support.benchresults import Figure, percentile
from support.kasset import asset

pytestmark = pytest.mark.bench
NOW = datetime.datetime(2026, 4, 1, tzinfo=datetime.timezone.utc)
REPETITIONS = 5
BUDGET_SECONDS = float(os.environ.get("KASSET_BENCH_PLANNING_BUDGET", "120"))


def plan_everything(assets: Mapping[str, Asset]) -> dict[str, AssetStatus]:
    """ADAPTER to the planner under test: every Asset's status from all the namespace's Assets.

    The incremental planner: one catalog derives every Asset's facts from its direct upstreams' (upstreams
    first, O(assets + edges)), then each status is planned from its facts. (Calling `plan_asset_status` with
    the plain mapping instead builds a catalog per Asset: O(assets²).)
    """
    catalog = DictCatalog(assets)
    return {name: plan_asset_status(model, catalog, now=NOW, facts=catalog.facts(name))
            for name, model in assets.items()}


def build_assets(graph: dict[str, tuple[str, ...]]) -> dict[str, Asset]:
    models = {}
    for i, (name, deps) in enumerate(graph.items()):
        manifest = asset(name, deps=deps)
        manifest["metadata"] |= {"namespace": "bench", "uid": f"uid-{i}", "generation": 1}
        models[name] = Asset.model_validate(manifest)
    return models


def time_planning(graph: dict[str, tuple[str, ...]], results: multiprocessing.Queue) -> None:
    """In the child: build the models, then put ("sample", seconds) per repetition and ("resolved", n)."""
    assets = build_assets(graph)
    for _ in range(REPETITIONS):
        t0 = time.perf_counter()
        statuses = plan_everything(assets)
        results.put(("sample", time.perf_counter() - t0))
    results.put(("resolved", sum(1 for s in statuses.values()
                                 if any(c.type == "DependenciesResolved" and c.status == "True"
                                        for c in s.conditions))))


def run_within_budget(graph: dict[str, tuple[str, ...]]) -> tuple[list[float], int | None]:
    """The repetitions' seconds that finished within the budget, and how many Assets planned as resolved."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=time_planning, args=(graph, results), daemon=True)
    child.start()
    deadline = time.monotonic() + BUDGET_SECONDS
    samples, resolved = [], None
    while resolved is None and (remaining := deadline - time.monotonic()) > 0:
        try:
            kind, value = results.get(timeout=remaining)
        except queue.Empty:
            break
        if kind == "sample":
            samples.append(value)
        else:
            resolved = value
    child.terminate()
    child.join()
    return samples, resolved


def test_planning_10000_assets_takes_under_200_ms(bench_results):
    graph = layered_graph(layers=10, width=bench_size("planning_assets", 10_000) // 10, deps=3, seed=20260401)
    edges = sum(map(len, graph.values()))
    samples, resolved = run_within_budget(graph)
    cut = "" if resolved is not None else (
        f"stopped after {BUDGET_SECONDS:.0f} s with {len(samples)} of {REPETITIONS} repetitions done; ")
    figure = bench_results.record(Figure(
        key="planning", value=percentile(samples, 0.95), unit="s (p95)",
        samples=samples,
        note=(f"{cut}`plan_everything` over {len(graph)} Asset models / {edges} edges, in a child process, "
              f"time.perf_counter, {REPETITIONS} repetitions"),
        scale=len(graph) / 10_000, details={"assets": len(graph), "edges": edges, "repetitions": len(samples)}))
    assert resolved in (None, len(graph)), f"only {resolved} of {len(graph)} Assets planned as resolved"
    assert figure.goal_met, cut + "; ".join(figure.failed_checks())
