"""Schedules on kwok nodes: a per-second cadence, each tick's Run created within a second of it (seen by a watch),
one Run per tick; Forbid skipping ticks while a Run is unfinished; the printer columns; and suspend."""

from __future__ import annotations

import statistics
import time
from datetime import datetime

from support.clusterinfo import wait_for
from support.kasset import Kasset, asset, kwok_container, schedule
from support.runwatch import RunTally

EVERY_SECOND = "* * * * * *"


def tick_of(run: dict) -> float:
    """The tick a Run was created for (its annotation), in Unix seconds."""
    return datetime.fromisoformat(run["metadata"]["annotations"]["kasset.dev/schedule-tick"]).timestamp()


def suspend(kasset: Kasset, name: str) -> None:
    kasset.custom.patch_namespaced_custom_object("kasset.dev", "v1alpha1", kasset.namespace, "schedules", name,
                                                 {"spec": {"suspend": True}})


def test_a_per_second_schedule_creates_one_run_per_tick_within_a_second_of_it(cluster, kwok_operator, namespace):
    kasset = Kasset(cluster, namespace)
    kasset.create(asset("ticker", container=kwok_container(delay="100ms")))
    wall_minus_monotonic = time.time() - time.monotonic()
    with RunTally(cluster, namespace, label_selector="kasset.dev/schedule=every-second") as tally:
        kasset.create(schedule("every-second", cron=EVERY_SECOND, selection={"assets": ["ticker"]},
                               params={"tick": "{{ tick.time }}"}))
        wait_for(lambda: len(tally.names) >= 5, timeout=30, what="five ticks' Runs")
        suspend(kasset, "every-second")
        runs = {name: tally.objects[name] for name in sorted(tally.names) if name in tally.objects}
        lags = [tally.first_seen[name] + wall_minus_monotonic - tick_of(run) for name, run in runs.items()]
    ticks = sorted(tick_of(run) for run in runs.values())
    assert len(set(ticks)) == len(ticks), "one Run per tick"
    assert all(run["spec"]["params"]["tick"] == run["metadata"]["annotations"]["kasset.dev/schedule-tick"]
               for run in runs.values())
    assert all(run["spec"]["trigger"] == {"type": "Schedule", "source": "Schedule/every-second"}
               for run in runs.values())
    print(f"tick → Run seen: median {statistics.median(lags):.3f}s, max {max(lags):.3f}s over {len(lags)} ticks")
    assert max(lags) < 1.0, lags
    status = wait_for(lambda: _suspended(kasset, "every-second"), timeout=30, what="the Schedule suspended")
    assert status["runs"] >= 5 and status.get("nextScheduleTime") is None
    table = cluster.kubectl("get", "schedules.kasset.dev", "-n", namespace).stdout.split()
    assert table[:6] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST"]
    assert table[8:13] == ["every-second", "*", "*", "*", "*"]


def _suspended(kasset: Kasset, name: str) -> dict | None:
    status = kasset.get("schedules", name).get("status") or {}
    ready = next((c for c in status.get("conditions", []) if c["type"] == "Ready"), {})
    return status if ready.get("reason") == "Suspended" else None


def test_forbid_skips_ticks_while_a_run_is_unfinished(cluster, kwok_operator, namespace):
    kasset = Kasset(cluster, namespace)
    kasset.create(asset("slow", container=kwok_container(delay="4s")))
    with RunTally(cluster, namespace, label_selector="kasset.dev/schedule=forbid") as tally:
        kasset.create(schedule("forbid", cron=EVERY_SECOND, selection={"assets": ["slow"]},
                               concurrencyPolicy="Forbid"))
        wait_for(lambda: len(tally.finished_at) >= 1 and len(tally.names) >= 2, timeout=60,
                 what="a first Run finished and a second one created")
        suspend(kasset, "forbid")
        peak = tally.peak
    assert peak == 1, "never two unfinished Runs at once"
    status = kasset.get("schedules", "forbid")["status"]
    assert status["skipped"] >= 2  # the Run took 4 s, ticking every second
    wait_for(lambda: cluster.kubectl("get", "events", "-n", namespace, "--field-selector",  # written off-thread
                                     "involvedObject.kind=Schedule,reason=SkippedTick", "-o", "name").stdout.split(),
             timeout=10, what="SkippedTick Events on the Schedule")
