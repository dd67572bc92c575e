"""The metrics module: names and labels as the contract says, known series at zero, per-Asset gauges read from the
cache at scrape time, each Run transition counted once, and the HTTP endpoint's three paths."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from kasset.api import RunStatus
from kasset.metrics import Metrics
from kasset.reconcilers.runmetrics import observe_run_transitions
from kasset.runtime.server import HttpServer, probe_routes
from kasset_factories import NAMESPACE, at, make_asset, make_run, materialized

CONTRACT = {
    "kasset_build_info": "gauge", "kasset_ready": "gauge", "kasset_leader": "gauge",
    "kasset_runs_started": "counter", "kasset_runs_finished": "counter", "kasset_run_duration_seconds": "histogram",
    "kasset_steps_started": "counter", "kasset_steps_finished": "counter", "kasset_step_duration_seconds": "histogram",
    "kasset_run_launch_latency_seconds": "histogram", "kasset_step_handoff_latency_seconds": "histogram",
    "kasset_workqueue_depth": "gauge", "kasset_workqueue_wait_seconds": "histogram",
    "kasset_reconcile_duration_seconds": "histogram", "kasset_reconcile_errors": "counter",
    "kasset_kubernetes_api_requests": "counter",
    "kasset_asset_last_materialization_timestamp_seconds": "gauge", "kasset_asset_stale": "gauge",
    "kasset_asset_failed_checks": "gauge", "kasset_asset_freshness_maximum_lag_seconds": "gauge",
}


def scrape(metrics: Metrics) -> dict[str, object]:
    return {family.name: family for family in text_string_to_metric_families(generate_latest(metrics.registry).decode())}


def value(metrics: Metrics, name: str, **labels: str) -> float:
    for family in scrape(metrics).values():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise KeyError(f"{name}{labels}")


def with_cache(metrics: Metrics, assets=(), queued=()) -> Metrics:
    metrics.watch_cache(assets=lambda: [(NAMESPACE, a) for a in assets], queued=lambda: list(queued))
    return metrics


def test_every_metric_of_the_contract_is_exported_with_its_type():
    asset = materialized(make_asset("a", freshness={"maximumLagSeconds": 60}), run="r", data_version="1")
    families = scrape(with_cache(Metrics(), assets=[asset]))
    assert {name: families[name].type for name in CONTRACT} == CONTRACT
    assert not [name for name in families if not name.startswith("kasset_")]


def test_known_series_start_at_zero_so_rates_answer_before_anything_happens():
    metrics = with_cache(Metrics())
    assert value(metrics, "kasset_runs_finished_total", outcome="failed") == 0
    assert value(metrics, "kasset_runs_started_total", trigger="Backfill") == 0
    assert value(metrics, "kasset_reconcile_errors_total", kind="Run") == 0
    assert value(metrics, "kasset_workqueue_depth", kind="Asset") == 0
    assert value(metrics, "kasset_build_info") == 1


def test_asset_gauges_come_from_the_cache_at_scrape_time():
    stale = make_asset("b", status={"conditions": [{"type": "Stale", "status": "True", "reason": "UpstreamChanged", "lastTransitionTime": at(1)}],
                                    "checks": [{"name": "rows", "outcome": "Failed", "run": "r", "time": at(5)}]})
    fresh = materialized(make_asset("a", freshness={"maximumLagSeconds": 3600}), run="r", data_version="1", seconds=7)
    assets = [fresh, stale]
    metrics = with_cache(Metrics(), assets=assets, queued=[("Run", NAMESPACE, "x"), ("Run", NAMESPACE, "y")])
    assert value(metrics, "kasset_asset_last_materialization_timestamp_seconds", asset="a") == at(7).timestamp()
    assert value(metrics, "kasset_asset_freshness_maximum_lag_seconds", asset="a") == 3600
    assert value(metrics, "kasset_asset_stale", asset="b") == 1 and value(metrics, "kasset_asset_stale", asset="a") == 0
    assert value(metrics, "kasset_asset_failed_checks", asset="b") == 1
    assert value(metrics, "kasset_workqueue_depth", kind="Run") == 2
    assets.remove(stale)  # deleted from the cache: its series go with it
    with pytest.raises(KeyError):
        value(metrics, "kasset_asset_stale", asset="b")


def status(*steps: dict, start: float | None = None, end: float | None = None, outcome: str = "Unknown") -> RunStatus:
    return RunStatus.model_validate({
        "startTime": at(start) if start is not None else None, "completionTime": at(end) if end is not None else None,
        "conditions": [{"type": "Succeeded", "status": outcome, "reason": "Running" if outcome == "Unknown" else "Done", "lastTransitionTime": at(0)}],
        "steps": list(steps)})


def test_each_run_transition_counts_once_with_its_latencies():
    metrics, run = Metrics(), make_run("r", created=0)
    pending = status({"name": "a", "state": "Pending"}, {"name": "b", "state": "Pending"})
    launched = status({"name": "a", "state": "Running", "startTime": at(0.02)}, {"name": "b", "state": "Pending"},
                      start=0)
    handed = status({"name": "a", "state": "Succeeded", "startTime": at(0.02), "completionTime": at(10)},
                    {"name": "b", "state": "Running", "startTime": at(10.5)}, start=0)
    done = status({"name": "a", "state": "Succeeded", "startTime": at(0.02), "completionTime": at(10)},
                  {"name": "b", "state": "Failed", "startTime": at(10.5), "completionTime": at(20)},
                  start=0, end=20, outcome="False")
    for before, after in [(pending, launched), (launched, handed), (handed, done), (done, done)]:
        observe_run_transitions(metrics, run, before, after)
    assert value(metrics, "kasset_runs_started_total", trigger="Manual") == 1
    assert value(metrics, "kasset_steps_started_total") == 2
    assert value(metrics, "kasset_steps_finished_total", outcome="succeeded") == 1
    assert value(metrics, "kasset_steps_finished_total", outcome="failed") == 1
    assert value(metrics, "kasset_runs_finished_total", outcome="failed") == 1
    assert value(metrics, "kasset_run_duration_seconds_sum", outcome="failed") == 20
    assert value(metrics, "kasset_run_launch_latency_seconds_count") == 1
    assert value(metrics, "kasset_run_launch_latency_seconds_sum") == pytest.approx(0.02)
    assert value(metrics, "kasset_step_handoff_latency_seconds_sum") == pytest.approx(0.5)


def test_the_server_answers_metrics_healthz_and_readyz_only_when_ready():
    metrics, ready = with_cache(Metrics()), threading.Event()
    server = HttpServer(name="probes", port=0, host="127.0.0.1",
                        routes=probe_routes(registry=metrics.registry, ready=ready))
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert urllib.request.urlopen(f"{base}/healthz", timeout=5).status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/readyz", timeout=5)
        assert refused.value.code == 503
        refused.value.close()
        ready.set()
        assert urllib.request.urlopen(f"{base}/readyz", timeout=5).status == 200
        body = urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()
        assert "kasset_build_info{" in body
    finally:
        server.stop()


def test_connections_opened_while_the_server_is_busy_wait_in_its_backlog():
    """Sources that open a connection per event (50/s) while the accepting thread waits for the GIL: the
    standard library's backlog of 5 dropped or reset the rest. Not started, the server accepts nothing."""
    server = HttpServer(name="probes", port=0, host="127.0.0.1",
                        routes=probe_routes(registry=Metrics().registry, ready=threading.Event()))
    clients = []
    try:
        for _ in range(100):
            clients.append(socket.create_connection(("127.0.0.1", server.port), timeout=1))
    except OSError as exc:
        pytest.fail(f"connection {len(clients) + 1} of 100 was not queued: {exc!r}")
    finally:
        for sock in clients:
            sock.close()
        server.start()  # stop() waits for the serving loop
        server.stop()
