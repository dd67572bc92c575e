"""Sensors on kwok nodes: every one of 100 partition materializations of a watched asset becomes exactly one Run,
with params taken from the materialization's metadata; a webhook POST creates one Run and its replay none, bad
calls get a 4xx naming the problem; and an operator killed during a burst of 200 webhook events ends with exactly
200 Runs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from support.clusterinfo import wait_for
from support.kasset import Kasset, asset, backfill, job, kwok_container, sensor
from support.operator import OperatorProcess
from support.runwatch import RunTally
from support.webhook import TOKEN, post, post_until_accepted, token_secret

DAILY = {"dimensions": [{"name": "day", "timeWindow": {"cadence": "Daily", "start": "2021-01-01"}}]}


def webhook_sensor(name: str = "hook", **spec) -> dict:
    spec.setdefault("params", {"key": "{{ body.key }}", "size": "{{ body.size }}", "id": "{{ eventId }}"})
    return sensor(name, webhook={"tokenSecretRef": {"name": "hook-token"}}, selection={"assets": ["loader"]},
                  **spec)


def test_each_of_100_partition_materializations_becomes_exactly_one_run(cluster, kwok_operator, namespace):
    kasset = Kasset(cluster, namespace)
    kasset.create(asset("raw", partitions=DAILY, container=kwok_container(
                      delay="100ms", result={"metadata": {"s3_key": "in/file.zip", "rows": 7}})),
                  asset("follow", container=kwok_container(delay="100ms")),
                  job("raw-days", selection={"assets": ["raw"]}),
                  job("follow-up", selection={"assets": ["follow"]}, successfulRunsHistoryLimit=200),
                  sensor("on-raw", assetMaterialized={"assets": ["raw"]}, jobRef={"name": "follow-up"},
                         params={"day": "{{ partition }}", "key": "{{ metadata.s3_key }}",
                                 "rows": "{{ metadata.rows }}", "by": "{{ run }}"}))
    with RunTally(cluster, namespace, label_selector="kasset.dev/sensor=on-raw") as tally:
        kasset.create(backfill("hundred", job_ref="raw-days", partitions={"from": "2021-01-01", "to": "2021-04-11"},
                               maxConcurrentRuns=20))
        kasset.wait_backfill("hundred", timeout=300)
        wait_for(lambda: len(tally.names) >= 100, timeout=120, what="100 sensor Runs")
        wait_for(lambda: len(tally.finished_at) >= 100 or None, timeout=120, what="the 100 sensor Runs finished")
        runs = dict(tally.objects)
        names = tally.names
    assert len(names) == 100 and set(runs) == names, len(names)  # kept (history limit 200): none deleted
    params = [run["spec"]["params"] for run in runs.values()]
    assert len({p["day"] for p in params}) == 100  # one Run per partition
    assert {(p["key"], p["rows"]) for p in params} == {("in/file.zip", 7)}
    assert all(run["spec"]["trigger"] == {"type": "Sensor", "source": "Sensor/on-raw"} for run in runs.values())
    status = wait_for(lambda: (s := kasset.get("sensors", "on-raw").get("status", {})).get("succeeded") == 100 and s,
                      timeout=60, what="the Sensor's status to count 100 succeeded Runs")
    assert len(status["recentRuns"]) == 20 and status["lastEventTime"]


def test_a_webhook_post_creates_one_run_and_its_replay_none(cluster, kwok_operator, namespace):
    kasset = Kasset(cluster, namespace)
    token_secret(cluster, namespace)
    kasset.create(asset("loader", container=kwok_container(delay="100ms")), webhook_sensor())
    port = int(kwok_operator.env["KASSET_WEBHOOK_PORT"])
    wait_for(lambda: kasset.get("sensors", "hook").get("status", {}).get("endpoint"), timeout=30,
             what="the Sensor's endpoint in status")
    body = {"key": "in/a.zip", "size": 10}
    status, first = post(port, namespace, "hook", body, token=TOKEN, event_id="msg-1")
    assert status == 201, first
    status, again = post(port, namespace, "hook", body, token=TOKEN, event_id="msg-1")
    assert (status, again["run"], again["duplicate"]) == (200, first["run"], True)
    run = kasset.get("runs", first["run"])
    assert run["spec"]["params"] == {"key": "in/a.zip", "size": 10, "id": "msg-1"}
    assert run["spec"]["runKey"].endswith("/webhook/msg-1")
    runs = kasset.custom.list_namespaced_custom_object("kasset.dev", "v1alpha1", namespace, "runs",
                                                       label_selector="kasset.dev/sensor=hook")["items"]
    assert [r["metadata"]["name"] for r in runs] == [first["run"]]


@pytest.mark.parametrize("token, event_id, body, code, message", [
    (None, "e", {"key": "k", "size": 1}, 401, "unauthorized"),
    ("wrong", "e", {"key": "k", "size": 1}, 401, "unauthorized"),
    (TOKEN, None, {"key": "k", "size": 1}, 400, "missing event id: set header X-Event-Id"),
    (TOKEN, "e", b"{not json", 400, "the body is not JSON"),
    (TOKEN, "e", {"size": 1}, 422, "spec.params.key: {{ body.key }}: body has no key 'key' (it has: size)"),
])
def test_a_bad_webhook_call_gets_a_4xx_naming_the_problem_and_creates_nothing(
        cluster, kwok_operator, namespace, token, event_id, body, code, message):
    kasset = Kasset(cluster, namespace)
    token_secret(cluster, namespace)
    kasset.create(asset("loader", container=kwok_container()), webhook_sensor())
    port = int(kwok_operator.env["KASSET_WEBHOOK_PORT"])
    wait_for(lambda: kasset.get("sensors", "hook").get("status", {}).get("endpoint"), timeout=30,
             what="the Sensor in the operator's cache")
    status, answer = post(port, namespace, "hook", body, token=token, event_id=event_id)
    assert (status, message in answer["error"]) == (code, True), answer
    assert kasset.custom.list_namespaced_custom_object("kasset.dev", "v1alpha1", namespace, "runs")["items"] == []


def test_an_operator_killed_during_a_burst_of_200_webhook_events_ends_with_exactly_200_runs(
        cluster, crds, namespace, tmp_path):
    from conftest import free_port

    port = free_port()
    op = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace_pattern=namespace, node_kind="kwok",
                         log_path=tmp_path / "operator.log",
                         extra_env={"KASSET_WEBHOOK_PORT": str(port), "KASSET_METRICS_BIND_ADDRESS": "127.0.0.1"})
    kasset = Kasset(cluster, namespace)
    token_secret(cluster, namespace)
    kasset.create(asset("loader", container=kwok_container(delay="100ms")), webhook_sensor())
    accepted: list[int] = []
    lock = threading.Lock()

    def send(i: int) -> dict:
        answer = post_until_accepted(port, namespace, "hook", {"key": f"in/{i}.zip", "size": i}, token=TOKEN,
                                     event_id=f"burst-{i}")[1]
        with lock:
            accepted.append(i)
        return answer

    op.start()
    try:
        with RunTally(cluster, namespace, label_selector="kasset.dev/sensor=hook") as tally, \
                ThreadPoolExecutor(max_workers=8) as pool:
            answers = [pool.submit(send, i) for i in range(200)]
            wait_for(lambda: len(accepted) >= 60, timeout=60, what="60 events accepted before the crash")
            op.kill()
            assert len(accepted) < 200, "the burst ended before the crash; the test proves nothing"
            op.start()
            runs = {answer.result()["run"] for answer in answers}
            wait_for(lambda: len(tally.names) >= 200, timeout=60, what="200 Runs seen")
            names = tally.names
    except BaseException:
        print(op.log_tail())
        raise
    finally:
        op.stop()
    assert op.tracebacks() == []
    assert len(runs) == 200 and names == runs
