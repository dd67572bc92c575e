"""How fast the operator moves a Run: upstream step done → downstream step Job, Run created → first step Job.

A 20-step chain on kwok nodes (pods end at once: `kwok-delay 0s`), run several times for enough samples of the
hand-off for a p99. Times are taken where the test's own watch sees the events (Kubernetes timestamps have
one-second resolution). Also the size of the finished Runs' status.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from support.benchload import FirstSeen, bench_size, has_condition
from support.benchresults import Figure, percentile
from support.kasset import Kasset, job, kwok_container, run

pytestmark = [pytest.mark.bench, pytest.mark.usefixtures("kwok_operator"), pytest.mark.timeout(1800)]
CHAIN = 20
SEQUENTIAL_RUNS = int(os.environ.get("KASSET_BENCH_SEQUENTIAL_RUNS", "20"))


def chain_steps(n: int) -> list[dict]:
    return [{"name": f"s{i:02d}", "container": kwok_container(delay="0s"),
             "dependsOn": [f"s{i - 1:02d}"] if i else []} for i in range(n)]


def run_chain(cluster, kasset: Kasset, name: str) -> tuple[list[float], float, dict]:
    """Run the chain once: the hand-offs (step i Complete → step i+1 Job created), created → last step
    Complete, and the finished Run."""
    with FirstSeen(cluster.batch.list_namespaced_job, kasset.namespace, label_selector=f"kasset.dev/run={name}",
                   predicate=lambda j: has_condition(j, "Complete")) as seen:
        t0 = time.monotonic()
        kasset.create(run(name, job_ref="chain"))
        assert seen.wait(CHAIN, timeout=300), f"only {len(seen.times)} of {CHAIN} steps of {name} completed"
    done = kasset.wait_run(name, timeout=60)
    by_step = {obj["metadata"]["labels"]["kasset.dev/step"]: job_name for job_name, obj in seen.objects.items()}
    steps = [by_step[f"s{i:02d}"] for i in range(CHAIN)]
    handoffs = [seen.created[b] - seen.times[a] for a, b in zip(steps, steps[1:])]
    return handoffs, seen.times[steps[-1]] - t0, done


def test_downstream_step_job_follows_upstream_completion_within_a_second_p99(cluster, bench_namespace, bench_results):
    chains = bench_size("chains", 5)
    kasset = Kasset(cluster, bench_namespace)
    kasset.create(job("chain", steps=chain_steps(CHAIN)))
    handoffs, durations, status_bytes = [], [], 0
    for i in range(chains):
        samples, duration, done = run_chain(cluster, kasset, f"chain-{i}")
        handoffs += samples
        durations.append(duration)
        status_bytes = max(status_bytes, len(json.dumps(done["status"])))
    bench_results.record(Figure(
        key="chain-run-duration", benchmark=f"{CHAIN}-step chain: Run created → last step Complete",
        value=max(durations), unit="s (max)", samples=durations, note=f"{chains} Runs, one after the other",
        scale=1, details={"finished Run status bytes": status_bytes}))
    figure = bench_results.record(Figure(
        key="chain-handoff", value=percentile(handoffs, 0.99), unit="s (p99)", samples=handoffs,
        note=(f"{chains} Runs of a {CHAIN}-step chain, one after the other; each sample: step Job Complete → the "
              "next step's Job created, both as the test's watch sees them"),
        scale=1, details={"runs": chains, "hand-offs": len(handoffs)}))
    assert figure.goal_met, figure.failed_checks()


def test_run_created_to_first_step_job_created(cluster, bench_namespace, bench_results):
    kasset = Kasset(cluster, bench_namespace)
    kasset.create(job("one", steps=chain_steps(1)))
    samples = []
    for i in range(SEQUENTIAL_RUNS):
        name = f"one-{i}"
        with FirstSeen(cluster.batch.list_namespaced_job, bench_namespace, predicate=lambda _: True,
                       label_selector=f"kasset.dev/run={name}") as seen:
            t0 = time.monotonic()
            kasset.create(run(name, job_ref="one"))
            assert seen.wait(1, timeout=60), f"no step Job for Run {name} within 60s"
        samples.append(min(seen.times.values()) - t0)
    bench_results.record(Figure(
        key="run-first-step", benchmark="One-step Run created → its step Job created (one Run at a time)",
        value=percentile(samples, 0.99), unit="s (p99)", samples=samples, scale=1,
        note=f"{SEQUENTIAL_RUNS} Runs, one after the other"))


def test_status_size_of_a_wide_run(cluster, bench_namespace, bench_results):
    width = 200
    kasset = Kasset(cluster, bench_namespace)
    steps = [{"name": f"step-{i:03d}", "container": kwok_container(delay="0s")} for i in range(width)]
    kasset.create(job("wide", maxParallelSteps=50, steps=steps), run("wide-1", job_ref="wide"))
    t0 = time.monotonic()
    done = kasset.wait_run("wide-1", timeout=600)
    seconds = time.monotonic() - t0
    bench_results.record(Figure(
        key="wide-run-status-size", benchmark=f"Status of a finished {width}-step Run (maxParallelSteps 50)",
        value=len(json.dumps(done["status"])) / 1024, unit="KiB",
        note="as read back from the API server after the Run succeeded",
        scale=1, details={"whole object KiB": len(json.dumps(done)) / 1024, "Run seconds": seconds}))
