"""10,000 Assets in 10 layers of 1,000, each depending on 3 assets of the layer before (30,000 edges, fixed
seed): the operator's memory and CPU while they arrive, the time until every Asset has a status, and then,
among them, how fast a Run over one asset with a ~1,000-asset upstream closure gets its first step Job.

The Assets are created at once by the bench's pool of threads. Their status is polled with paged lists
(limit/continue) once a second. The operator's RSS is sampled from /proc/<pid>/status (VmRSS) every half
second; its CPU time is utime + stime from /proc/<pid>/stat. The Assets' steps "run" for an hour on kwok, so
the Runs of the last bench launch their step and nothing else happens in the namespace while it measures.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from support.benchload import (
    FirstSeen, ProcessSampler, bench_size, cpu_seconds, create_all, custom_creator, fresh_namespace, layered_graph,
    list_raw, rss_mib, upstream_closure_sizes,
)
from support.benchresults import Figure, percentile
from support.kasset import GROUP, VERSION, Kasset, asset, kwok_container, run

pytestmark = [pytest.mark.bench, pytest.mark.timeout(7200)]
LAYERS, DEPS, SEED = 10, 3, 20260401
IDLE_CPU_SECONDS_PER_SECOND = 0.05
CLOSURE_SAMPLES = int(os.environ.get("KASSET_BENCH_CLOSURE_SAMPLES", "20"))


@dataclass
class AssetLoad:
    namespace: str
    graph: dict[str, tuple[str, ...]]
    seconds_to_status: dict[str, float] = field(default_factory=dict)
    deadline: float = 0.0
    creating_seconds: float = 0.0
    poll_seconds: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    rss_before: float = 0.0
    rss_idle: float | None = None
    cpu_seconds: float = 0.0
    settle_seconds: float = 0.0
    create_error: BaseException | None = None

    @property
    def complete(self) -> bool:
        return len(self.seconds_to_status) == len(self.graph)


@pytest.fixture(scope="module")
def asset_load(cluster, kwok_operator) -> Iterator[AssetLoad]:
    width = bench_size("assets", 10_000) // LAYERS
    graph = layered_graph(layers=LAYERS, width=width, deps=DEPS, seed=SEED)
    with fresh_namespace(cluster, "asset-scale", prefix="it") as namespace:
        load = AssetLoad(namespace=namespace, graph=graph, deadline=max(120.0, 600 * len(graph) / 10_000))
        pid = kwok_operator.proc.pid
        load.rss_before, cpu_before = rss_mib(pid), cpu_seconds(pid)
        manifests = [asset(name, deps=deps, container=kwok_container(delay="1h")) for name, deps in graph.items()]
        with ProcessSampler(pid) as sampler:
            t0 = time.monotonic()
            creator = threading.Thread(target=_create, args=(cluster, namespace, manifests, load, t0), daemon=True)
            creator.start()
            _poll_status(Kasset(cluster, namespace), load, t0)
            creator.join()
            if load.create_error is not None:
                raise load.create_error
            load.settle_seconds = _wait_idle(pid, timeout=120)
            load.rss_idle = rss_mib(pid)
        load.rss = [rss for _, rss in sampler.samples]
        load.cpu_seconds = cpu_seconds(pid) - cpu_before
        yield load


def _create(cluster, namespace: str, manifests: list[dict], load: AssetLoad, t0: float) -> None:
    try:
        create_all(cluster.kubeconfig, manifests, custom_creator(GROUP, VERSION, namespace))
    except BaseException as exc:  # raised by the fixture once polling stops
        load.create_error = exc
    load.creating_seconds = time.monotonic() - t0


def _poll_status(kasset: Kasset, load: AssetLoad, t0: float) -> None:
    """Page through the Assets once a second, noting when each first shows a condition; bounded."""
    while not load.complete and load.create_error is None and time.monotonic() - t0 < load.deadline:
        started = time.monotonic()
        items, _ = list_raw(kasset.custom.list_namespaced_custom_object, GROUP, VERSION, kasset.namespace, "assets",
                            page=1000)
        now = time.monotonic()
        for item in items:
            name = item["metadata"]["name"]
            if name not in load.seconds_to_status and (item.get("status") or {}).get("conditions"):
                load.seconds_to_status[name] = now - t0
        load.poll_seconds.append(now - started)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def _wait_idle(pid: int, *, timeout: float) -> float:
    """Wait until the process uses under 5% of a CPU over two seconds (bounded); seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        before = cpu_seconds(pid)
        time.sleep(2)
        if cpu_seconds(pid) - before < 2 * IDLE_CPU_SECONDS_PER_SECOND:
            break
    return time.monotonic() - t0


def test_operator_memory_with_10000_assets_stays_under_256_mib(asset_load, bench_results):
    load = asset_load
    figure = bench_results.record(Figure(
        key="assets-rss", value=max(load.rss), unit="MiB (peak)", samples=load.rss, sample_unit="MiB",
        note=(f"VmRSS of the operator process sampled every 0.5 s while {len(load.graph)} Assets were created and "
              "got their status; samples: the RSS series"),
        scale=len(load.graph) / 10_000,
        details={"assets": len(load.graph), "edges": sum(map(len, load.graph.values())),
                 "RSS before (MiB)": load.rss_before, "RSS idle after (MiB)": load.rss_idle,
                 "operator CPU seconds": load.cpu_seconds, "settle seconds": load.settle_seconds}))
    assert figure.goal_met, figure.failed_checks()


def test_every_one_of_10000_assets_has_status_within_60s(asset_load, bench_results):
    load = asset_load
    times = list(load.seconds_to_status.values())
    incomplete = "" if load.complete else (
        f"only {len(times)} of {len(load.graph)} Assets had status within {load.deadline:.0f}s; ")
    figure = bench_results.record(Figure(
        key="assets-status", value=max(times) if load.complete else None, unit="s", samples=times,
        note=(f"{incomplete}from the first create until every Asset shows a condition (paged lists once a second); "
              "samples: the first create of the batch → each Asset first seen with status"),
        scale=len(load.graph) / 10_000,
        details={"assets": len(load.graph), "creating seconds": load.creating_seconds,
                 "list pass seconds (median)": percentile(load.poll_seconds, 0.5),
                 "operator CPU seconds": load.cpu_seconds}))
    if load.complete:  # the operator's own share: how far behind the last create it finished
        bench_results.record(Figure(
            key="assets-status-after-create", value=max(times) - load.creating_seconds, unit="s",
            benchmark="10,000 Assets: last create done → every Asset has status",
            note="the time to every Asset with status, less the time the test took to create them all (the "
                 "API server admits the creates at its own pace on these 2 cores)",
            scale=len(load.graph) / 10_000, details={"creating seconds": load.creating_seconds}))
    assert figure.goal_met, figure.failed_checks()


def pick_closure_assets(graph: dict[str, tuple[str, ...]], *, target: int, count: int) -> list[tuple[str, int]]:
    """The `count` assets whose upstream closure is nearest `target` assets, with their closure sizes."""
    sizes = upstream_closure_sizes(graph)
    nearest = sorted(sizes.items(), key=lambda kv: (abs(kv[1] - target), kv[0]))
    return nearest[:count]


def test_run_over_a_1000_asset_closure_launches_within_a_second(cluster, asset_load, bench_results):
    target = int(os.environ.get("KASSET_BENCH_CLOSURE", len(asset_load.graph) // 10))  # 1,000 of 10,000
    picked = pick_closure_assets(asset_load.graph, target=target, count=CLOSURE_SAMPLES)
    kasset = Kasset(cluster, asset_load.namespace)
    samples = []
    for i, (name, _) in enumerate(picked):
        run_name = f"closure-{i}"
        body = run(run_name, selection={"assets": [name], "upstream": False})
        with FirstSeen(cluster.batch.list_namespaced_job, kasset.namespace, predicate=lambda _: True,
                       label_selector=f"kasset.dev/run={run_name}") as seen:
            t0 = time.monotonic()
            kasset.create(body)
            seen.wait(1, timeout=60)
        if seen.times:
            samples.append(min(seen.times.values()) - t0)
    sizes = [size for _, size in picked]
    missing = len(picked) - len(samples)
    figure = bench_results.record(Figure(
        key="closure-run-launch", value=percentile(samples, 0.95), unit="s (p95)", samples=samples,
        note=(f"{'%d Runs got no step Job within 60 s; ' % missing if missing else ''}"
              f"{len(picked)} Runs, one after the other, each selecting one asset (upstream: false) whose upstream "
              f"closure is nearest {target} assets, among the {len(asset_load.graph)} Assets; Run created → its "
              "first step Job created (test's watch)"),
        scale=len(asset_load.graph) / 10_000,
        details={"closure size median": percentile(sizes, 0.5), "closure size min": min(sizes),
                 "closure size max": max(sizes), "assets": len(asset_load.graph)}))
    assert not missing, f"{missing} Runs got no step Job within 60s"
    assert figure.goal_met, figure.failed_checks()


def test_metrics_endpoint_with_10000_assets(asset_load, kwok_operator, bench_results):
    """The per-Asset series are computed from the cache at scrape time: how long a scrape takes at this size."""
    import urllib.request

    url = f"http://127.0.0.1:{kwok_operator.env['KASSET_METRICS_PORT']}/metrics"
    seconds, series = [], 0
    for _ in range(20):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read().decode()
        seconds.append(time.perf_counter() - t0)
        series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    figure = bench_results.record(Figure(
        key="metrics-scrape", value=percentile(seconds, 0.5), unit="s (median)", samples=seconds, sample_unit="s",
        benchmark=f"/metrics with {len(asset_load.graph)} Assets in the cache: one scrape",
        note="20 sequential GETs of /metrics from the bench host; details: the series in one scrape",
        scale=len(asset_load.graph) / 10_000,
        details={"series": series, "p95 seconds": percentile(seconds, 0.95), "bytes": len(body),
                 "operator RSS idle (MiB)": asset_load.rss_idle}))
    assert series >= 2 * len(asset_load.graph)  # stale and failed checks per Asset (these were never materialized)
    assert figure.value is not None
