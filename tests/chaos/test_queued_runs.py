"""Chaos: a flood of Runs queued behind a Job's maxConcurrentRuns (a webhook burst). Each Run is written a
bounded number of times, whatever its place in the queue: a queued Run's status does not follow the queue's
moves, and a finished Run wakes only the Runs that may start (it woke every queued one: O(n^2) writes)."""

from __future__ import annotations

from support.clusterinfo import wait_for
from support.kasset import Kasset, asset, job, kwok_container, run
from support.runwatch import RunTally

RUNS, SLOTS = 40, 4


def test_runs_queued_behind_max_concurrent_runs_are_written_a_bounded_number_of_times(
        cluster, kwok_operator, namespace):
    kasset = Kasset(cluster, namespace)
    kasset.create(asset("load", container=kwok_container(delay="100ms")),
                  job("burst", selection={"assets": ["load"]}, maxConcurrentRuns=SLOTS,
                      successfulRunsHistoryLimit=RUNS))
    wait_for(lambda: (kasset.condition("jobs", "burst", "Ready") or {}).get("status") == "True", timeout=30,
             what="Job burst Ready")
    with RunTally(cluster, namespace) as tally:
        kasset.create(*(run(f"r-{i:03d}", job_ref="burst") for i in range(RUNS)))
        wait_for(lambda: len(tally.finished_at) >= RUNS or None, timeout=240, what=f"{RUNS} Runs finished")
        writes = tally.modifications
        peak = tally.peak
    per_run = writes / RUNS
    print(f"\n{RUNS} Runs behind maxConcurrentRuns={SLOTS}: {writes} writes, {per_run:.1f} per Run")
    assert per_run <= 6, f"{writes} writes to {RUNS} Runs"
    assert peak >= SLOTS  # they really queued
