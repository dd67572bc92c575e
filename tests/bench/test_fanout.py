"""A 10,000-item fan-out: Run created → every pod created and the Run Succeeded, against one Indexed Job of
10,000 completions created directly with the parallelism Kasset uses (min(items, maxParallelSteps), at the
largest maxParallelSteps the Job model accepts).

The source step reports its items by reference — `{"itemCount": N, "resultRef": ...}` — as a real step
must: 10,000 inline items do not fit in a 4 KiB termination message. The operator never reads the reference;
the fan-out step's pods would (`KASSET_ITEMS_URI`).
"""

from __future__ import annotations

import time

import pytest

from support.benchload import FirstSeen, has_condition, run_finished
from support.benchresults import Baseline, Figure
from support.kasset import GROUP, VERSION, Kasset, job, kwok_container, run

pytestmark = [pytest.mark.bench, pytest.mark.usefixtures("kwok_operator"), pytest.mark.timeout(3600)]


def fanout_job(items: int, parallel: int) -> dict:
    source = kwok_container(result={"itemCount": items, "resultRef": "file:///data/bench/items.json"})
    return job("fan", maxParallelSteps=parallel, steps=[
        {"name": "src", "container": source},
        {"name": "each", "container": kwok_container(), "fanOut": {"fromStep": "src"}},
    ])


def test_fan_out_over_10000_items_is_near_one_direct_indexed_job(
        cluster, bench_namespace, bench_results, indexed_job_baseline):
    items, parallel = indexed_job_baseline.completions, indexed_job_baseline.parallelism
    kasset = Kasset(cluster, bench_namespace)
    kasset.create(fanout_job(items, parallel))
    deadline = max(600, 3 * indexed_job_baseline.seconds)
    with FirstSeen(kasset.custom.list_namespaced_custom_object, GROUP, VERSION, bench_namespace, "runs",
                   predicate=run_finished) as seen:
        t0 = time.monotonic()
        kasset.create(run("fan-1", job_ref="fan"))
        finished = seen.wait(1, timeout=deadline)
    status = (seen.objects.get("fan-1") or kasset.get("runs", "fan-1")).get("status") or {}
    seconds = seen.times["fan-1"] - t0 if finished else None
    steps = {s["name"]: s for s in status.get("steps") or []}
    figure = bench_results.record(Figure(
        key="fanout", value=seconds, unit="s", samples=[seconds] if seconds else [],
        baseline=Baseline.of(indexed_job_baseline.figure),
        ratio=indexed_job_baseline.seconds / seconds if seconds else None,
        note=("" if finished else f"not finished within {deadline:.0f}s; ")
        + (f"Run created → Succeeded (test's watch) for a source step reporting {items} items by resultRef and "
           f"a fan-out step (maxParallelSteps {parallel}); baseline: one Indexed Job created directly; ratio = "
           "baseline seconds ÷ Kasset seconds"),
        scale=items / 10_000,
        details={"items": items, "parallelism": parallel, "items processed": (steps.get("each") or {}).get("itemCount"),
                 "each step attempts": (steps.get("each") or {}).get("attempts")}))
    assert finished, f"the fan-out Run did not finish within {deadline:.0f}s"
    assert has_condition({"status": status}, "Succeeded"), status
    assert figure.goal_met, figure.failed_checks()
