"""Every Prometheus metric of the operator, in one place (DESIGN §5, STYLE lesson 8).

Names follow the Prometheus book: prefix `kasset_`, counters end in `_total`, durations are `_seconds`
histograms, times are `_timestamp_seconds` gauges. Labels are bounded: kinds, verbs, codes and outcomes, and, for
the per-Asset family only, namespace and asset (bounded by the number of Assets). Known label values are
pre-set to zero, so a rate() over a series that never moved still answers 0, not "no data".

The engine's counters and histograms are updated where the transition is written (the Run reconciler compares the
status it wrote with the one it replaced, so each transition counts once). What the cache already knows (queue
depth, each Asset's last materialization, staleness, failed checks, freshness bound) is read at scrape time by
`CacheCollector`: events pay nothing, and a deleted Asset's series disappear with it.

Does not: serve HTTP (`kasset.runtime.server`) or import kopf or the Kubernetes client.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from kasset import __version__
from kasset.api.conditions import find_condition
from kasset.api.contract import STALE

KINDS = ("Asset", "Job", "Run", "Backfill", "Schedule", "Sensor")
TRIGGERS = ("Manual", "Schedule", "Sensor", "Backfill", "Automation")
RUN_OUTCOMES = ("succeeded", "failed")
STEP_OUTCOMES = ("succeeded", "failed", "skipped")
TICK_OUTCOMES = ("run", "skipped", "missed")
SENSOR_OUTCOMES = ("created", "duplicate", "refused")
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)


class Metrics:
    """The operator's metrics on a registry of their own (one per operator, so tests can run several)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.build_info = Gauge("kasset_build_info", "Always 1; the labels say which build runs.",
                                ["version", "python_version"], registry=r)
        self.ready = Gauge("kasset_ready", "1 when the caches are synced and the watches run.", registry=r)
        self.leader = Gauge("kasset_leader", "1 when this replica holds the leader Lease (or leader election "
                            "is off).", registry=r)
        self.runs_started = Counter("kasset_runs_started_total", "Runs that started (launched a first step).",
                                    ["trigger"], registry=r)
        self.runs_finished = Counter("kasset_runs_finished_total", "Runs that finished, by outcome.",
                                     ["outcome"], registry=r)
        self.run_duration = Histogram("kasset_run_duration_seconds", "Run start to completion.", ["outcome"],
                                      buckets=DURATION_BUCKETS, registry=r)
        self.steps_started = Counter("kasset_steps_started_total", "Step Jobs created.", registry=r)
        self.steps_finished = Counter("kasset_steps_finished_total", "Steps that reached a final state.",
                                      ["outcome"], registry=r)
        self.step_duration = Histogram("kasset_step_duration_seconds", "Step Job creation to the step's end.",
                                       ["outcome"], buckets=DURATION_BUCKETS, registry=r)
        self.launch_latency = Histogram("kasset_run_launch_latency_seconds", "Run created to its first step Job "
                                        "created.", buckets=LATENCY_BUCKETS, registry=r)
        self.handoff_latency = Histogram("kasset_step_handoff_latency_seconds", "A step's completion (as its Job "
                                         "records it, to the second) to the next step's Job created.",
                                         buckets=LATENCY_BUCKETS, registry=r)
        self.queue_wait = Histogram("kasset_workqueue_wait_seconds", "Time a key waited in the work queue.",
                                    ["kind"], buckets=LATENCY_BUCKETS, registry=r)
        self.reconcile_duration = Histogram("kasset_reconcile_duration_seconds", "Time of one reconcile.",
                                            ["kind"], buckets=LATENCY_BUCKETS, registry=r)
        self.reconcile_errors = Counter("kasset_reconcile_errors_total", "Reconciles that failed and were "
                                        "requeued with backoff.", ["kind"], registry=r)
        self.api_requests = Counter("kasset_kubernetes_api_requests_total", "Kubernetes API requests by verb and "
                                    "HTTP status (`error`: no response).", ["verb", "code"], registry=r)
        self.schedule_ticks = Counter("kasset_schedule_ticks_total", "Schedule ticks handled, by outcome (run, "
                                      "skipped: Forbid, missed: past startingDeadlineSeconds).", ["outcome"],
                                      registry=r)
        self.sensor_events = Counter("kasset_sensor_events_total", "Sensor webhook events, by outcome (created: "
                                     "a Run; duplicate: its Run existed; refused: 4xx/503).", ["outcome"], registry=r)
        self._preset()

    def _preset(self) -> None:
        self.build_info.labels(__version__, platform.python_version()).set(1)
        for trigger in TRIGGERS:
            self.runs_started.labels(trigger)
        for outcome in RUN_OUTCOMES:
            self.runs_finished.labels(outcome)
            self.run_duration.labels(outcome)
        for outcome in STEP_OUTCOMES:
            self.steps_finished.labels(outcome)
            self.step_duration.labels(outcome)
        for kind in KINDS:
            self.queue_wait.labels(kind)
            self.reconcile_duration.labels(kind)
            self.reconcile_errors.labels(kind)
        for verb in VERBS:
            self.api_requests.labels(verb, "200")
        for outcome in TICK_OUTCOMES:
            self.schedule_ticks.labels(outcome)
        for outcome in SENSOR_OUTCOMES:
            self.sensor_events.labels(outcome)

    def observe_request(self, verb: str, code: int | str) -> None:
        self.api_requests.labels(verb, str(code)).inc()

    def watch_cache(self, *, assets: Callable[[], Iterable[tuple[str, Any]]],
                    queued: Callable[[], Iterable[Any]]) -> None:
        """Export the cache's per-Asset values and the queue's depth, read at every scrape."""
        self.registry.register(CacheCollector(assets=assets, queued=queued))


class CacheCollector(Collector):
    """Per-Asset gauges and queue depth, computed from the cache when Prometheus scrapes."""

    def __init__(self, *, assets: Callable[[], Iterable[tuple[str, Any]]], queued: Callable[[], Iterable[Any]]):
        self._assets, self._queued = assets, queued

    def describe(self) -> list:
        return []  # computed at collect time; nothing to check at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["namespace", "asset"]
        last = GaugeMetricFamily("kasset_asset_last_materialization_timestamp_seconds",
                                 "When the Asset's latest materialization finished (Unix time).", labels=labels)
        stale = GaugeMetricFamily("kasset_asset_stale", "1 when the Asset's Stale condition is True.", labels=labels)
        failed = GaugeMetricFamily("kasset_asset_failed_checks", "Checks of the Asset whose latest result failed.",
                                   labels=labels)
        lag = GaugeMetricFamily("kasset_asset_freshness_maximum_lag_seconds",
                                "spec.freshness.maximumLagSeconds: how old the Asset may get before it is late.",
                                labels=labels)
        for namespace, asset in self._assets():
            key = [namespace, asset.metadata.name]
            status = asset.status
            if status is not None and status.last_materialization is not None:
                last.add_metric(key, status.last_materialization.time.timestamp())
            condition = find_condition(status.conditions, STALE) if status is not None else None
            stale.add_metric(key, 1.0 if condition is not None and condition.status == "True" else 0.0)
            failed.add_metric(key, float(sum(1 for c in (status.checks if status else []) if c.outcome == "Failed")))
            if asset.spec.freshness is not None:
                lag.add_metric(key, float(asset.spec.freshness.maximum_lag_seconds))
        depth = GaugeMetricFamily("kasset_workqueue_depth", "Keys waiting in the work queue.", labels=["kind"])
        counts = dict.fromkeys(KINDS, 0)
        for key in self._queued():
            counts[key[0]] = counts.get(key[0], 0) + 1
        for kind, count in counts.items():
            depth.add_metric([kind], float(count))
        yield from (last, stale, failed, lag, depth)
