"""The SQS source (sources/sqs/kasset_sqs_source.py): its pure decisions and its delivery against a real HTTP
server playing the Sensor's endpoint. A message is deleted only once its Run exists (201, or 200 for a
duplicate), kept on a refusal or a body that is not a JSON object, retried (bounded) while the operator answers
503 or is down; config errors exit 2 naming the variable. Its loop, with boto3 against a real ElasticMQ, is
tested in tests/integration/test_sqs_source_program.py (boto3 lives in .venv-aws, not here).

No mocks: every POST goes over a socket on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.sensorendpoint import TOKEN, serve_sensor

SOURCE_DIR = Path(__file__).resolve().parents[2] / "sources" / "sqs"
sys.path.insert(0, str(SOURCE_DIR))
import kasset_sqs_source as source  # noqa: E402

BASE_ENV = {"SQS_QUEUE_URL": "http://sqs/000000000000/orders", "KASSET_SENSOR_URL": "http://op:8080/sensors/a/b",
            "KASSET_SENSOR_TOKEN": TOKEN}


@pytest.fixture
def sensor():
    state, stop = serve_sensor()
    yield state
    stop()


def config(url: str, token: str = TOKEN, **env: str) -> source.Config:
    return source.read_config(BASE_ENV | {"KASSET_SENSOR_URL": url, "KASSET_SENSOR_TOKEN": token} | env)


def message(message_id: str, body: str) -> dict:
    return {"MessageId": message_id, "ReceiptHandle": f"receipt-{message_id}", "Body": body,
            "MD5OfBody": hashlib.md5(body.encode()).hexdigest()}


def read_log(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


# ---------------------------------------------------------------------------------------------------- pure parts


def test_config_defaults_long_polling_of_ten_messages_and_leaves_region_and_endpoint_to_boto3():
    c = source.read_config(BASE_ENV)
    assert (c.wait_seconds, c.max_messages, c.visibility_timeout) == (20, 10, None)
    assert (c.region, c.endpoint_url) == (None, None)


def test_config_prefers_the_specific_region_and_endpoint_variables():
    c = source.read_config(BASE_ENV | {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "us-east-2",
                                       "AWS_ENDPOINT_URL": "http://all:1", "AWS_ENDPOINT_URL_SQS": "http://sqs:9324",
                                       "SQS_VISIBILITY_TIMEOUT": "60", "SQS_WAIT_TIME_SECONDS": "0"})
    assert (c.region, c.endpoint_url, c.visibility_timeout, c.wait_seconds) == ("us-east-2", "http://sqs:9324", 60, 0)
    fallback = source.read_config(BASE_ENV | {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://all:1"})
    assert (fallback.region, fallback.endpoint_url) == ("eu-west-1", "http://all:1")


@pytest.mark.parametrize("env, named", [
    ({"SQS_QUEUE_URL": ""}, "SQS_QUEUE_URL must be set"),
    ({"KASSET_SENSOR_TOKEN": " "}, "KASSET_SENSOR_TOKEN must be set"),
    ({"SQS_WAIT_TIME_SECONDS": "30"}, "SQS_WAIT_TIME_SECONDS must be between 0 and 20"),
    ({"SQS_MAX_MESSAGES": "0"}, "SQS_MAX_MESSAGES must be between 1 and 10"),
    ({"SQS_MAX_MESSAGES": "ten"}, "SQS_MAX_MESSAGES must be an integer"),
    ({"SQS_VISIBILITY_TIMEOUT": "-1"}, "SQS_VISIBILITY_TIMEOUT must be between 0 and 43200"),
    ({"KASSET_SENSOR_URL": "op:8080/sensors/a/b"}, "KASSET_SENSOR_URL must be an http:// or https:// URL"),
    ({"AWS_ENDPOINT_URL_SQS": "localhost:9324"}, "AWS_ENDPOINT_URL_SQS must be an http:// or https:// URL"),
])
def test_a_bad_config_names_the_variable(env, named):
    with pytest.raises(source.ConfigError, match=named):
        source.read_config(BASE_ENV | env)


def test_only_a_json_object_is_an_event_body():
    assert source.parse_body('{"key": "in/a.zip"}') == {"key": "in/a.zip"}
    assert [source.parse_body(b) for b in ("[1]", '"text"', "3", "null", "not json", "")] == [None] * 6


@pytest.mark.parametrize("status, decision", [
    (201, source.DELETE), (200, source.DELETE),
    (202, source.KEEP), (204, source.KEEP), (302, source.KEEP),
    (400, source.KEEP), (401, source.KEEP), (403, source.KEEP), (404, source.KEEP), (422, source.KEEP),
    (408, source.RETRY), (429, source.RETRY), (500, source.RETRY), (503, source.RETRY), (None, source.RETRY),
])
def test_the_message_is_deleted_only_when_the_answer_says_its_run_exists(status, decision):
    assert source.decide(status) == decision


def test_an_answer_that_is_not_a_json_object_becomes_an_error_quoting_it():
    assert source.parse_answer(201, b'{"run": "r"}') == {"run": "r"}
    assert source.parse_answer(502, b"<html>Bad Gateway</html>") == {"error": "HTTP 502: <html>Bad Gateway</html>"}
    assert source.parse_answer(200, b"") == {}


def test_receive_errors_back_off_from_one_second_to_thirty():
    assert [source.compute_receive_pause(n) for n in (1, 2, 3, 5, 6, 7, 50)] == [1, 2, 4, 16, 30, 30, 30]


# ---------------------------------------------------------------------------------------------------- delivery


def test_the_first_delivery_creates_the_run_and_a_redelivery_is_a_duplicate_both_deleted(sensor, capsys):
    deleted: list[str] = []
    msg = message("m-1", json.dumps({"key": "in/a.zip"}))
    assert source.handle(config(sensor.url), msg, deleted.append) == "created"
    assert source.handle(config(sensor.url), msg, deleted.append) == "duplicate"
    assert deleted == ["receipt-m-1", "receipt-m-1"] and sensor.seen == {"m-1": "orders-0"}
    headers, body = sensor.calls[0]
    assert body == {"key": "in/a.zip"}
    assert (headers["X-Event-Id"], headers["Authorization"], headers["Content-Type"]) == (
        "m-1", f"Bearer {TOKEN}", "application/json")
    logs = read_log(capsys)
    assert [(e["messageId"], e["outcome"], e["run"]) for e in logs] == [("m-1", "created", "orders-0"),
                                                                      ("m-1", "duplicate", "orders-0")]


def test_a_refusal_is_logged_with_the_servers_message_and_the_message_kept(sensor, capsys):
    deleted: list[str] = []
    assert source.handle(config(sensor.url, token="wrong"), message("m-1", "{}"), deleted.append) == "refused"
    assert deleted == [] and len(sensor.calls) == 1  # a refusal is final: not retried
    (entry,) = read_log(capsys)
    assert entry["level"] == "error" and entry["status"] == 403
    assert entry["error"] == "the bearer token does not match spec.container.tokenSecretRef"


def test_a_body_that_is_not_a_json_object_is_never_posted_and_stays_on_the_queue(sensor, capsys):
    deleted: list[str] = []
    assert source.handle(config(sensor.url), message("m-2", "[1, 2]"), deleted.append) == "invalid"
    assert source.handle(config(sensor.url), message("m-3", "not json"), deleted.append) == "invalid"
    assert deleted == [] and sensor.calls == []
    assert [(e["messageId"], e["level"]) for e in read_log(capsys)] == [("m-2", "error"), ("m-3", "error")]


def test_a_503_is_retried_after_a_pause_and_the_message_deleted_once_the_run_exists(sensor):
    sensor.unavailable = 1
    pauses: list[float] = []
    deleted: list[str] = []
    outcome = source.handle(config(sensor.url), message("m-1", "{}"), deleted.append,
                            pause=lambda s: pauses.append(s) or False)
    assert (outcome, pauses, deleted, len(sensor.calls)) == ("created", [0.2], ["receipt-m-1"], 2)


def test_no_answer_is_retried_a_bounded_number_of_times_then_left_to_the_visibility_timeout():
    down = config("http://127.0.0.1:9/sensors/team/orders")  # the discard port: connection refused
    pauses: list[float] = []
    decision, status, answer = source.deliver(down, "m-1", {}, pause=lambda s: pauses.append(s) or False)
    assert (decision, status) == (source.RETRY, None) and "error" in answer
    assert pauses == list(source.RETRY_DELAYS) and max(pauses) == 5.0


def test_a_stop_during_the_backoff_ends_the_retries_and_keeps_the_message(sensor):
    sensor.unavailable = 5
    deleted: list[str] = []
    assert source.handle(config(sensor.url), message("m-1", "{}"), deleted.append, pause=lambda s: True) == (
        "unavailable")
    assert deleted == [] and len(sensor.calls) == 1


def test_a_failed_delete_is_logged_and_the_loop_goes_on(sensor, capsys):
    def delete(receipt):
        raise ConnectionError("sqs is gone")

    assert source.handle(config(sensor.url), message("m-1", "{}"), delete) == "delete-failed"
    (entry,) = read_log(capsys)
    assert (entry["outcome"], entry["run"]) == ("delete-failed", "orders-0") and "sqs is gone" in entry["error"]


# ---------------------------------------------------------------------------------------------------- the program


def test_a_missing_variable_exits_2_naming_it():
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SQS_", "KASSET_"))}
    proc = subprocess.run([sys.executable, str(SOURCE_DIR / "kasset_sqs_source.py")], capture_output=True, text=True,
                          env=keep | {"KASSET_SENSOR_URL": "http://op/s", "KASSET_SENSOR_TOKEN": "t"}, timeout=60)
    assert proc.returncode == 2 and "SQS_QUEUE_URL must be set" in proc.stderr and proc.stdout == ""
