"""Benchmark fixtures: the session's figures, namespaces that are gone before the next bench, and baselines.

Every bench records its figures in the session-scoped `bench_results`; at the end of the session they are
merged into `bench/results/latest.json` (figures of benches that did not run are kept) and rendered into
`docs/benchmarks.md` and `docs/benchmarks-latency.png`. A bench records its figure first and asserts its goal
after, so a missed goal still shows in the report.

Baselines are what the same cluster does without Kasset, measured once per session when a bench asks for
them, in a namespace the operator does not watch (`bl-*`), with the same kwok pods, sizes and creating
thread pool as the Kasset bench they are compared with.

`KASSET_BENCH_SCALE` (e.g. 0.1) shrinks every size for a quick check of the harness; goals apply at 1.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kasset.api.job import JobSpec
from support import apiserver_metrics
from support.benchload import (
    WORKERS, FirstSeen, batch_job_creator, bench_scale, bench_size, create_all, fresh_namespace, has_condition,
    job_finished,
)
from support.benchreport import render_markdown, render_plot
from support.benchresults import BenchResults, Figure
from support.clusterinfo import ClusterInfo
from support.objects import kwok_job

REPO = Path(__file__).resolve().parents[2]
RESULTS_JSON = REPO / "bench" / "results" / "latest.json"
MARKDOWN = REPO / "docs" / "benchmarks.md"
PLOT = REPO / "docs" / "benchmarks-latency.png"


@pytest.fixture(scope="session")
def bench_results() -> Iterator[BenchResults]:
    results = BenchResults(json_path=RESULTS_JSON, scale=bench_scale(), environment=_environment())
    yield results
    if not results.figures:
        return
    figures, sessions = results.write()
    plotted = render_plot(figures, PLOT)
    MARKDOWN.write_text(render_markdown(figures, sessions, plot_name=PLOT.name if plotted else None))
    print(f"\nBENCH wrote {RESULTS_JSON.relative_to(REPO)}, {MARKDOWN.relative_to(REPO)}"
          + (f", {PLOT.relative_to(REPO)}" if plotted else ""), flush=True)


def _environment() -> dict[str, str]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    dirty = "+changes" if git("status", "--porcelain", "--", "operator") else ""
    return {"commit": f"{commit}{dirty}", "cpus": str(os.cpu_count()), "python": platform.python_version()}


@pytest.fixture
def bench_namespace(cluster: ClusterInfo, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace the integration operator (`kwok_operator`, watching `it-*`) reconciles."""
    with fresh_namespace(cluster, request.node.name, prefix="it") as namespace:
        yield namespace


def max_parallel_steps() -> int:
    """The largest maxParallelSteps the Job model accepts: what a large fan-out runs with."""
    return next(m.le for m in JobSpec.model_fields["max_parallel_steps"].metadata if hasattr(m, "le"))


# -- baseline (a): many batch Jobs created directly ---------------------------------------------------------

@dataclass
class DirectJobsBaseline:
    figure: Figure
    jobs: int
    jobs_per_second: float
    #: core/v1 Event writes per batch Job made by the cluster itself (the Job controller), not by Kasset
    cluster_events_per_job: float


@pytest.fixture(scope="session")
def direct_jobs_baseline(cluster: ClusterInfo, bench_results: BenchResults) -> DirectJobsBaseline:
    n = bench_size("runs", 1000)
    with fresh_namespace(cluster, "baseline-direct-jobs", prefix="bl") as namespace:
        jobs = [kwok_job(f"direct-{i:05d}") for i in range(n)]
        before = apiserver_metrics.scrape(cluster.api)
        with FirstSeen(cluster.batch.list_namespaced_job, namespace, predicate=job_finished) as seen:
            sent = create_all(cluster.kubeconfig, jobs, batch_job_creator(namespace))
            assert seen.wait(n, timeout=max(300, n)), f"only {len(seen.times)} of {n} direct Jobs finished"
        after = apiserver_metrics.wait_until_quiet(cluster.api)  # before the namespace's deletion writes
    failed = [name for name, job in seen.objects.items() if not has_condition(job, "Complete")]
    assert not failed, f"direct Jobs failed: {failed[:5]}"
    latencies = [seen.times[job["metadata"]["name"]] - t for job, t in zip(jobs, sent)]
    wall = max(seen.times.values()) - min(sent)
    events = apiserver_metrics.core_event_writes(apiserver_metrics.difference(after, before)) / n
    figure = bench_results.record(Figure(
        key="baseline-direct-jobs", benchmark=f"Baseline: {n:,} batch Jobs created at once directly → Complete",
        value=n / wall, unit="Jobs/s", samples=latencies,
        note=(f"{n} one-pod kwok Jobs created by {WORKERS} threads; throughput = Jobs Complete ÷ seconds from "
              "the first create to the last Complete (test's watch); samples: each Job's created → Complete"),
        scale=n / 1000,
        details={"jobs": n, "wall seconds": wall, "creating seconds": max(sent) - min(sent),
                 "cluster core/v1 Event writes per Job": events}))
    return DirectJobsBaseline(figure=figure, jobs=n, jobs_per_second=n / wall, cluster_events_per_job=events)


# -- baseline (b): one Indexed Job created directly ---------------------------------------------------------

@dataclass
class IndexedJobBaseline:
    figure: Figure
    completions: int
    parallelism: int
    seconds: float


def indexed_kwok_job(name: str, *, completions: int, parallelism: int) -> dict:
    """One Indexed Job with the shape Kasset gives a fan-out step (per-index retries, disruptions ignored)."""
    manifest = kwok_job(name)
    manifest["spec"] |= {
        "completionMode": "Indexed", "completions": completions, "parallelism": parallelism,
        "backoffLimitPerIndex": 0,
        "podFailurePolicy": {"rules": [{"action": "Ignore",
                                        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]},
    }
    del manifest["spec"]["backoffLimit"]
    return manifest


def all_pods_created(job: dict, completions: int) -> bool:
    status = job.get("status") or {}
    return sum(status.get(k) or 0 for k in ("active", "succeeded", "failed")) >= completions


@pytest.fixture(scope="session")
def indexed_job_baseline(cluster: ClusterInfo, bench_results: BenchResults) -> IndexedJobBaseline:
    items = bench_size("fanout_items", 10_000)
    parallelism = min(items, max_parallel_steps())
    with fresh_namespace(cluster, "baseline-indexed-job", prefix="bl") as namespace:
        manifest = indexed_kwok_job("indexed", completions=items, parallelism=parallelism)
        list_jobs = cluster.batch.list_namespaced_job
        with FirstSeen(list_jobs, namespace, predicate=lambda j: all_pods_created(j, items)) as pods, \
                FirstSeen(list_jobs, namespace, predicate=job_finished) as done:
            t0 = time.monotonic()
            cluster.batch.create_namespaced_job(namespace, manifest)
            assert done.wait(1, timeout=max(600, items / 10)), f"Indexed Job of {items} not finished"
            pods.wait(1, timeout=10)
    assert has_condition(done.objects["indexed"], "Complete"), done.objects["indexed"].get("status")
    seconds = done.times["indexed"] - t0
    figure = bench_results.record(Figure(
        key="baseline-indexed-job",
        benchmark=f"Baseline: one Indexed Job of {items:,} completions (parallelism {parallelism}) → Complete",
        value=seconds, unit="s", samples=[seconds],
        note="created directly; kwok pods succeed after 300 ms; created → Complete as the test's watch sees it",
        scale=items / 10_000,
        details={"completions": items, "parallelism": parallelism,
                 "created → all pods created (s)": pods.times.get("indexed", t0) - t0}))
    return IndexedJobBaseline(figure=figure, completions=items, parallelism=parallelism, seconds=seconds)
