"""The running operator serves its metrics: a Run with a succeeding and a failing step moves the run, step,
latency, queue, reconcile and API-request series; the Asset gauges follow the cache; `/readyz` and `/healthz`
answer; and `promtool check metrics` finds nothing to say about the exposition."""

from __future__ import annotations

import subprocess
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from support.clusterinfo import wait_for
from support.kasset import Kasset, asset, kwok_container, run

pytestmark = pytest.mark.usefixtures("kwok_operator")


def base_url(op) -> str:
    return f"http://127.0.0.1:{op.env['KASSET_METRICS_PORT']}"


def scrape(op) -> str:
    with urllib.request.urlopen(f"{base_url(op)}/metrics", timeout=10) as response:
        return response.read().decode()


def samples(op, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(scrape(op)):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_a_run_moves_the_engine_and_asset_metrics(cluster, namespace, kwok_operator):
    op, kasset = kwok_operator, Kasset(cluster, namespace)
    before = {
        "started": samples(op, "kasset_runs_started_total", trigger="Manual"),
        "failed": samples(op, "kasset_runs_finished_total", outcome="failed"),
        "steps_ok": samples(op, "kasset_steps_finished_total", outcome="succeeded"),
        "steps_failed": samples(op, "kasset_steps_finished_total", outcome="failed"),
        "launch": samples(op, "kasset_run_launch_latency_seconds_count"),
        "handoff": samples(op, "kasset_step_handoff_latency_seconds_count"),
        "creates": samples(op, "kasset_kubernetes_api_requests_total", verb="create", code="201"),
    }
    kasset.create(asset("good", freshness={"maximumLagSeconds": 600}),
                  asset("bad", deps=("good",), container=kwok_container(fail=True)), run("both", assets=["bad", "good"]))
    kasset.wait_run("both", expect="False")
    wait_for(lambda: samples(op, "kasset_runs_finished_total", outcome="failed") == before["failed"] + 1,
             timeout=10, what="the failed Run counted")
    assert samples(op, "kasset_runs_started_total", trigger="Manual") == before["started"] + 1
    assert samples(op, "kasset_steps_finished_total", outcome="succeeded") == before["steps_ok"] + 1
    assert samples(op, "kasset_steps_finished_total", outcome="failed") == before["steps_failed"] + 1
    assert samples(op, "kasset_run_launch_latency_seconds_count") == before["launch"] + 1
    assert samples(op, "kasset_step_handoff_latency_seconds_count") == before["handoff"] + 1
    assert samples(op, "kasset_kubernetes_api_requests_total", verb="create", code="201") >= before["creates"] + 3
    assert samples(op, "kasset_kubernetes_api_requests_total", verb="watch", code="200") > 0
    assert samples(op, "kasset_reconcile_duration_seconds_count", kind="Run") > 0
    wait_for(lambda: samples(op, "kasset_asset_last_materialization_timestamp_seconds", namespace=namespace,
                             asset="good") > 0, timeout=10, what="good's last materialization exported")
    assert samples(op, "kasset_asset_freshness_maximum_lag_seconds", namespace=namespace, asset="good") == 600
    assert samples(op, "kasset_ready") == 1


def test_health_and_readiness_answer_200_once_ready(kwok_operator):
    for path in ("/healthz", "/readyz"):
        with urllib.request.urlopen(f"{base_url(kwok_operator)}{path}", timeout=10) as response:
            assert response.status == 200, path


def test_promtool_check_metrics_is_clean_on_the_exposition(kwok_operator):
    done = subprocess.run(["promtool", "check", "metrics"], input=scrape(kwok_operator), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stdout + done.stderr
