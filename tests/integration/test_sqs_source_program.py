"""The SQS source program's loop, run as its image runs it (the boto3 of .venv-aws, `python kasset_sqs_source.py`)
against a real ElasticMQ and a real HTTP server playing the Sensor's endpoint: it long-polls, posts each
message with its id as X-Event-Id, deletes only the messages whose Run exists, keeps the rest, waits out a
failing queue, and on SIGTERM finishes the message at hand and exits 0. Every wait is a bounded poll."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from support.awsservers import start_sqs_source, stop_sqs_source
from support.clusterinfo import wait_for
from support.sensorendpoint import TOKEN, serve_sensor


@pytest.fixture
def sensor():
    state, stop = serve_sensor()
    yield state
    stop()


@pytest.fixture
def queue(aws_servers) -> str:
    return aws_servers.ctl("queue", f"it-source-{uuid.uuid4().hex[:8]}")


def start_source(aws_servers, sensor, queue_url: str, **env: str) -> subprocess.Popen:
    return start_sqs_source(aws_servers, queue_url=queue_url, sensor_url=sensor.url, token=TOKEN, wait_seconds=1,
                            **env)


def stop_source(proc: subprocess.Popen) -> tuple[list[dict], str]:
    code, log, err = stop_sqs_source(proc, timeout=30)
    assert code == 0, f"exit {code}: {err}"
    return log, err


def test_each_message_is_posted_once_and_deleted_only_when_its_run_exists(aws_servers, sensor, queue):
    ids = aws_servers.ctl("send", queue, '{"key": "a.zip"}', "not json", '{"key": "b.zip"}')
    proc = start_source(aws_servers, sensor, queue, SQS_VISIBILITY_TIMEOUT="60")
    try:
        wait_for(lambda: aws_servers.ctl("count", queue) == {"visible": 0, "inFlight": 1}, timeout=30,
                 what="the two JSON messages deleted and the invalid one left in flight")
    finally:
        log, _ = stop_source(proc)
    posted = {headers["X-Event-Id"]: body for headers, body in sensor.calls}  # SQS does not keep the order
    assert len(sensor.calls) == 2 and posted == {ids[0]: {"key": "a.zip"}, ids[2]: {"key": "b.zip"}}
    assert all(headers["Authorization"] == f"Bearer {TOKEN}" for headers, _ in sensor.calls)
    assert (log[0]["outcome"], log[-1]["outcome"]) == ("started", "stopped")
    assert {e["messageId"]: e["outcome"] for e in log[1:-1]} == {ids[0]: "created", ids[1]: "invalid",
                                                                 ids[2]: "created"}


def test_a_refused_message_stays_on_the_queue_and_comes_back(aws_servers, sensor, queue):
    (message_id,) = aws_servers.ctl("send", queue, '{"key": "c.zip"}')
    proc = start_source(aws_servers, sensor, queue, KASSET_SENSOR_TOKEN="wrong", SQS_VISIBILITY_TIMEOUT="1")
    try:
        wait_for(lambda: len(sensor.calls) >= 2, timeout=30, what="the refused message to be received a second time")
    finally:
        log, _ = stop_source(proc)
    assert {headers["X-Event-Id"] for headers, _ in sensor.calls} == {message_id}
    refused = [e for e in log if e["outcome"] == "refused"]
    assert len(refused) >= 2 and refused[0]["status"] == 403 and "tokenSecretRef" in refused[0]["error"]
    assert sum(aws_servers.ctl("count", queue).values()) == 1  # visible again or still in flight: never deleted


def test_a_queue_that_does_not_exist_is_logged_and_waited_out_not_a_crash(aws_servers, sensor):
    missing = aws_servers.sqs.queue_url(f"it-missing-{uuid.uuid4().hex[:8]}")
    proc = start_source(aws_servers, sensor, missing)
    lines: list[dict] = []
    try:
        while len(lines) < 2:
            line = proc.stdout.readline()
            assert line, f"the program ended early: {proc.stderr.read()}"
            lines.append(json.loads(line))
        assert proc.poll() is None, "the program exited on a receive error"
    finally:
        log, _ = stop_source(proc)
    failed = lines[1]
    assert (failed["outcome"], failed["retryInSeconds"]) == ("receive-failed", 1.0)
    assert "NonExistentQueue" in failed["error"] or "QueueDoesNotExist" in failed["error"], failed["error"]
    assert log[-1]["outcome"] == "stopped" and sensor.calls == []


def test_sigterm_during_a_post_finishes_that_message_then_exits_0(aws_servers, sensor, queue):
    sensor.hold = 1.0  # the operator takes a second to answer
    first, _second = aws_servers.ctl("send", queue, '{"key": "d.zip"}', '{"key": "e.zip"}')
    proc = start_source(aws_servers, sensor, queue, SQS_VISIBILITY_TIMEOUT="60")
    try:
        assert sensor.posted.wait(60), "the program never posted"
    finally:
        log, _ = stop_source(proc)
    assert [headers["X-Event-Id"] for headers, _ in sensor.calls] == [first]
    assert [e["outcome"] for e in log] == ["started", "created", "stopped"]
    # the first was deleted; the second, received in the same batch, waits out its visibility timeout
    assert aws_servers.ctl("count", queue) == {"visible": 0, "inFlight": 1}
