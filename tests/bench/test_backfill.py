"""A Backfill of 1,000 daily partitions (one one-step Run each) on kwok nodes: the wall time from its creation to
Complete, the Runs per second, and the operator's peak RSS while it runs.

The asset's pods end at once (`kwok-delay 0s`), so the figure is the operator's pace (create a Run, plan it,
launch its step Job, record the outcome, free the Backfill's slot), not the steps'. The Runs are followed by a
watch (times are the test's clock at the events); the Backfill's Complete condition by a bounded poll. RSS is
sampled from /proc/<pid>/status every half second, over the whole session's operator (its caches hold what
earlier benches left, so the peak is an upper bound of what this load needs).
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from support.benchload import ProcessSampler, bench_size
from support.benchresults import Figure
from support.kasset import Kasset, asset, backfill, job, kwok_container
from support.runwatch import RunTally

pytestmark = [pytest.mark.bench, pytest.mark.timeout(3600)]
START = date(2021, 1, 1)
MAX_CONCURRENT_RUNS = 50


def test_backfill_of_1000_partitions_wall_time_runs_per_second_and_peak_rss(cluster, kwok_operator,
                                                                            bench_namespace, bench_results):
    n = bench_size("backfill_partitions", 1000)
    kasset = Kasset(cluster, bench_namespace)
    daily = {"dimensions": [{"name": "day", "timeWindow": {"cadence": "Daily", "start": START.isoformat()}}]}
    kasset.create(asset("events", partitions=daily, container=kwok_container(delay="0s")),
                  job("bench", selection={"assets": ["events"]}))
    spec = {"partitions": {"from": START.isoformat(), "to": (START + timedelta(days=n)).isoformat()},
            "maxConcurrentRuns": MAX_CONCURRENT_RUNS}
    with ProcessSampler(kwok_operator.proc.pid) as rss, RunTally(cluster, bench_namespace) as tally:
        created = time.monotonic()
        kasset.create(backfill("thousand", job_ref="bench", **spec))
        done = kasset.wait_backfill("thousand", timeout=120 + n)
        wall = max(tally.finished_at.values()) - created
    note = (f"one Backfill of {n} daily partitions of a one-step asset (kwok pods end at once), "
            f"maxConcurrentRuns {MAX_CONCURRENT_RUNS}; from the create to the last Run seen finished by the test's "
            "watch")
    details = {"partitions": n, "runs": len(tally.names), "peak unfinished Runs": tally.peak,
               "succeeded": done["status"]["succeeded"]}
    bench_results.record(Figure(key="backfill-wall", value=wall, unit="s", note=note, details=details,
                                benchmark="Backfill of 1,000 partitions: wall time", scale=n / 1000))
    bench_results.record(Figure(key="backfill-throughput", value=n / wall, unit="Runs/s", note=note,
                                details=details, benchmark="Backfill of 1,000 partitions: Runs/s", scale=n / 1000))
    bench_results.record(Figure(key="backfill-rss", value=rss.peak_mib, unit="MiB", scale=n / 1000,
                                benchmark="Backfill of 1,000 partitions: operator peak RSS",
                                note="VmRSS of the session's operator, sampled every 0.5 s during the Backfill"))
    assert len(tally.names) == n and done["status"]["succeeded"] == n
    assert tally.peak <= MAX_CONCURRENT_RUNS
