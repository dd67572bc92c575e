"""Run launch throughput: 1,000 one-step Runs of one Job created at once, against 1,000 batch Jobs created
directly (the same pool of creating threads, the same kwok pods); and, from the API server's request
metrics over the same window, how many writes the operator makes per step.

The Job keeps every finished Run (history limits = the number of Runs), so pruning neither adds writes nor
deletes Runs before the watch sees them succeed.
"""

from __future__ import annotations

import time

import pytest

from support import apiserver_metrics
from support.benchload import WORKERS, FirstSeen, create_all, custom_creator, has_condition, run_finished
from support.benchresults import Baseline, Figure
from support.clusterinfo import wait_for
from support.kasset import GROUP, VERSION, Kasset, job, kwok_container, run

pytestmark = [pytest.mark.bench, pytest.mark.usefixtures("kwok_operator"), pytest.mark.timeout(3600)]


def test_one_step_runs_launch_at_20_per_second_and_near_direct_jobs(
        cluster, bench_namespace, bench_results, direct_jobs_baseline):
    n = direct_jobs_baseline.jobs
    kasset = Kasset(cluster, bench_namespace)
    kasset.create(job("one", steps=[{"name": "step", "container": kwok_container()}],
                      successfulRunsHistoryLimit=n, failedRunsHistoryLimit=n))
    runs = [run(f"r-{i:05d}", job_ref="one") for i in range(n)]
    wait_for(lambda: kasset.condition("jobs", "one", "Ready"), timeout=60,  # its own status write, not a step's
             what="Job one's Ready condition")
    before = apiserver_metrics.scrape(cluster.api)
    with FirstSeen(kasset.custom.list_namespaced_custom_object, GROUP, VERSION, bench_namespace, "runs",
                   predicate=run_finished) as seen:
        sent = create_all(cluster.kubeconfig, runs, custom_creator(GROUP, VERSION, bench_namespace))
        finished = seen.wait(n, timeout=120 + n / 2)
        last = max(seen.times.values(), default=time.monotonic())
    after = apiserver_metrics.wait_until_quiet(cluster.api)
    succeeded = [name for name, obj in seen.objects.items() if has_condition(obj, "Succeeded")]
    names = [r["metadata"]["name"] for r in runs]
    latencies = [seen.times[name] - t for name, t in zip(names, sent) if name in seen.times]
    rate = len(succeeded) / (last - min(sent))
    incomplete = "" if finished else f"only {len(seen.times)} of {n} Runs finished within {120 + n / 2:.0f}s; "
    throughput = bench_results.record(Figure(
        key="run-throughput", value=rate, unit="Runs/s", samples=latencies,
        baseline=Baseline.of(direct_jobs_baseline.figure), ratio=rate / direct_jobs_baseline.jobs_per_second,
        note=(f"{incomplete}{n} Runs of a one-step Job created by {WORKERS} threads; throughput = Runs Succeeded ÷ "
              "seconds from the first create to the last Succeeded (test's watch); samples: each Run's created → "
              "Succeeded; baseline: the same number of batch Jobs created directly"),
        scale=n / 1000,
        details={"runs": n, "succeeded": len(succeeded), "wall seconds": last - min(sent),
                 "creating seconds": max(sent) - min(sent)}))
    own_events = len(cluster.core.list_namespaced_event(bench_namespace, field_selector="source=kasset-operator").items)
    writes = record_writes_per_step(bench_results, apiserver_metrics.difference(after, before), steps=len(succeeded),
                                    test_writes=n, own_events=own_events, incomplete=incomplete)
    missed = throughput.failed_checks() + writes.failed_checks()
    assert not missed, missed


def record_writes_per_step(bench_results, delta, *, steps: int, test_writes: int, own_events: int,
                           incomplete: str) -> Figure:
    """The operator's writes in `delta` per step: Kasset and batch Job writes, less the test's own Run creates,
    plus the core Events the operator recorded (those the API server holds with source kasset-operator: the
    Job controller records core Events too, so the Event count from the metrics is not the operator's alone)."""
    counted = apiserver_metrics.operator_writes(delta)
    all_events = sum(v for k, v in counted.items() if k.group == "" and k.resource == "events")
    cluster_events = all_events - own_events
    operator_total = sum(counted.values()) - test_writes - cluster_events
    return bench_results.record(Figure(
        key="api-writes-per-step", value=operator_total / max(steps, 1), unit="writes/step",
        note=(f"{incomplete}apiserver_request_total scraped before and after the Run throughput bench; counted: "
              "POST/PUT/PATCH/APPLY/DELETE on kasset.dev (any resource) and batch jobs (not jobs/status), less the "
              "test's Run creates, plus the operator's own core Events (listed by source=kasset-operator; the core "
              "Event writes in the metrics also hold the Job controller's); divided by the steps that succeeded "
              "(one per Run)"),
        scale=steps / 1000,
        details={"steps": steps, "counted writes": sum(counted.values()), "test's creates": test_writes,
                 "Job controller events": cluster_events, "operator writes": operator_total,
                 "by request": apiserver_metrics.breakdown(counted)}))
