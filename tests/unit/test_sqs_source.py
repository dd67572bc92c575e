"""The SQS source's delivery, against a real HTTP server playing the Sensor's endpoint: a message is deleted
only once its Run exists (201, or 200 for a duplicate), kept on a refusal or a body that is not a JSON object,
and retried (bounded) while the operator answers 503 or is down; its config errors name the variable."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sources" / "sqs"))
import kasset_sqs_source as source  # noqa: E402

TOKEN = "t0ken"


class Endpoint(BaseHTTPRequestHandler):
    """201 for a new event id, 200 duplicate for a known one, 403 for a wrong token, 503 for the first
    `unavailable` calls."""

    seen: dict[str, str] = {}
    calls: list[tuple[str, dict]] = []
    unavailable = 0

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        event_id = self.headers["X-Event-Id"]
        type(self).calls.append((event_id, body))
        if self.headers["Authorization"] != f"Bearer {TOKEN}":
            return self._answer(403, {"error": "wrong token"})
        if type(self).unavailable > 0:
            type(self).unavailable -= 1
            return self._answer(503, {"error": "the operator is starting"})
        if event_id in self.seen:
            return self._answer(200, {"run": self.seen[event_id], "duplicate": True})
        self.seen[event_id] = f"run-{len(self.seen)}"
        return self._answer(201, {"run": self.seen[event_id]})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    Endpoint.seen, Endpoint.calls, Endpoint.unavailable = {}, [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sensors/team/orders"
    server.shutdown()
    server.server_close()


def config(url: str, token: str = TOKEN) -> source.Config:
    return source.read_config({"SQS_QUEUE_URL": "http://sqs/queue", "KASSET_SENSOR_URL": url,
                               "KASSET_SENSOR_TOKEN": token})


def message(message_id: str, body: str) -> dict:
    return {"MessageId": message_id, "ReceiptHandle": f"receipt-{message_id}", "Body": body}


def test_a_message_is_deleted_once_its_run_exists_and_its_redelivery_again_without_a_second_run(endpoint):
    deleted: list[str] = []
    body = json.dumps({"key": "in/a.zip"})
    assert source.handle(config(endpoint), message("m-1", body), deleted.append) == source.DELETE
    assert source.handle(config(endpoint), message("m-1", body), deleted.append) == source.DELETE
    assert deleted == ["receipt-m-1", "receipt-m-1"]
    assert Endpoint.seen == {"m-1": "run-0"} and Endpoint.calls[0] == ("m-1", {"key": "in/a.zip"})


def test_a_refused_event_and_a_body_that_is_not_a_json_object_stay_on_the_queue(endpoint):
    deleted: list[str] = []
    assert source.handle(config(endpoint, token="wrong"), message("m-1", "{}"), deleted.append) == source.KEEP
    assert source.handle(config(endpoint), message("m-2", "[1, 2]"), deleted.append) == source.KEEP
    assert source.handle(config(endpoint), message("m-3", "not json"), deleted.append) == source.KEEP
    assert deleted == [] and [c[0] for c in Endpoint.calls] == ["m-1"]  # bad bodies are never posted


def test_a_503_is_retried_until_the_run_exists(endpoint):
    Endpoint.unavailable = 2
    pauses: list[float] = []
    decision, status, answer = source.deliver(config(endpoint), "m-1", {"k": 1}, sleep=pauses.append)
    assert (decision, status, answer["run"]) == (source.DELETE, 201, "run-0")
    assert pauses == [0.2, 0.4] and len(Endpoint.calls) == 3


def test_no_answer_is_retried_a_bounded_number_of_times_then_left_to_the_visibility_timeout():
    down = config("http://127.0.0.1:9/sensors/team/orders")  # the discard port: connection refused
    pauses: list[float] = []
    decision, status, answer = source.deliver(down, "m-1", {}, delays=(0.1, 0.2), sleep=pauses.append)
    assert (decision, status) == (source.RETRY, None) and pauses == [0.1, 0.2]
    assert "error" in answer


@pytest.mark.parametrize("env, named", [
    ({}, "SQS_QUEUE_URL, KASSET_SENSOR_URL, KASSET_SENSOR_TOKEN must be set"),
    ({"SQS_WAIT_TIME_SECONDS": "30"}, "SQS_WAIT_TIME_SECONDS must be between 0 and 20"),
    ({"SQS_MAX_MESSAGES": "ten"}, "SQS_MAX_MESSAGES must be an integer"),
])
def test_a_bad_config_names_the_variable(env, named):
    full = {"SQS_QUEUE_URL": "q", "KASSET_SENSOR_URL": "u", "KASSET_SENSOR_TOKEN": "t"} if env else {}
    with pytest.raises(source.ConfigError, match=named):
        source.read_config(full | env)
