"""Kasset's SQS source: long-polls an SQS queue and delivers each message to a container Sensor.

Run by the operator as a Sensor's `container` source, it gets KASSET_SENSOR_URL and KASSET_SENSOR_TOKEN; the
queue comes from SQS_QUEUE_URL, and endpoint, region and credentials from boto3's own environment
(AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL for a local server, AWS_REGION, AWS_ACCESS_KEY_ID...), so the same
image works against AWS and against ElasticMQ. Each message is one POST: its body (a JSON object) as the JSON
body, its MessageId in X-Event-Id (the Run's key: one message never makes two Runs). A message is deleted only
after an answer saying its Run exists (201 created, 200 a duplicate). A permanent refusal (4xx) or a body that
is not a JSON object is logged and left on the queue: it comes back after the visibility timeout and goes to
the queue's dead-letter queue when one is configured. A 5xx or a connection error is retried with a bounded
backoff, then left to the visibility timeout. SIGTERM finishes the message at hand, then exits 0.

Does not: create Runs itself (the operator does, on the POST) or configure the queue.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping

#: What to do with a message after an answer.
DELETE, KEEP, RETRY = "delete", "keep", "retry"
RETRY_DELAYS = (0.2, 0.4, 0.8, 1.6, 3.2, 5.0)


class ConfigError(ValueError):
    """A missing or invalid environment variable (named in the message)."""


@dataclass(frozen=True)
class Config:
    queue_url: str
    sensor_url: str
    token: str
    wait_seconds: int = 20
    max_messages: int = 10
    visibility_timeout: int | None = None


def _int(env: Mapping[str, str], name: str, default: int | None, low: int, high: int) -> int | None:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def read_config(env: Mapping[str, str]) -> Config:
    """The source's settings from `env`; ConfigError naming the variable when one is missing or invalid."""
    missing = [name for name in ("SQS_QUEUE_URL", "KASSET_SENSOR_URL", "KASSET_SENSOR_TOKEN") if not env.get(name)]
    if missing:
        raise ConfigError(f"{', '.join(missing)} must be set")
    return Config(queue_url=env["SQS_QUEUE_URL"], sensor_url=env["KASSET_SENSOR_URL"],
                  token=env["KASSET_SENSOR_TOKEN"],
                  wait_seconds=_int(env, "SQS_WAIT_TIME_SECONDS", 20, 0, 20),
                  max_messages=_int(env, "SQS_MAX_MESSAGES", 10, 1, 10),
                  visibility_timeout=_int(env, "SQS_VISIBILITY_TIMEOUT", None, 0, 43200))


def parse_body(body: str) -> dict[str, Any] | None:
    """The message's JSON object, or None when the body is not one."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def decide(status: int | None) -> str:
    """DELETE once the Run exists (2xx), KEEP on a permanent refusal (4xx), RETRY on 5xx or no answer."""
    if status is not None and 200 <= status < 300:
        return DELETE
    if status is not None and 400 <= status < 500:
        return KEEP
    return RETRY


def post_event(config: Config, event_id: str, body: dict[str, Any], *, timeout: float = 30) -> tuple[int | None, dict]:
    """POST one event; (HTTP status, answer), or (None, {"error": ...}) when there was no answer."""
    request = urllib.request.Request(config.sensor_url, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {config.token}", "X-Event-Id": event_id})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {"error": f"HTTP {exc.code}"}
    except (OSError, ValueError) as exc:
        return None, {"error": f"{type(exc).__name__}: {exc}"}


def deliver(config: Config, event_id: str, body: dict[str, Any], *, delays=RETRY_DELAYS,
            sleep=time.sleep) -> tuple[str, int | None, dict]:
    """POST until the answer is final or the retries are spent: (decision, status, answer)."""
    for delay in (*delays, None):
        status, answer = post_event(config, event_id, body)
        decision = decide(status)
        if decision != RETRY or delay is None:
            return decision, status, answer
        sleep(delay)
    raise AssertionError("unreachable")


def log(**fields: Any) -> None:
    print(json.dumps(fields, separators=(",", ":"), default=str), flush=True)


def handle(config: Config, message: Mapping[str, Any], delete) -> str:
    """Deliver one SQS message and delete it only when its Run exists; the decision taken."""
    message_id = message["MessageId"]
    body = parse_body(message.get("Body") or "")
    if body is None:
        log(message=message_id, outcome="kept", error="the body is not a JSON object")
        return KEEP
    decision, status, answer = deliver(config, message_id, body)
    if decision == DELETE:
        delete(message["ReceiptHandle"])
        log(message=message_id, outcome="duplicate" if status == 200 else "created", run=answer.get("run"))
    else:
        log(message=message_id, outcome="kept", status=status, error=answer.get("error"))
    return decision


def run(config: Config, stop: threading.Event) -> None:
    import boto3  # only the loop needs it: the delivery logic and its tests do not

    sqs = boto3.client("sqs")
    receive: dict[str, Any] = {"QueueUrl": config.queue_url, "MaxNumberOfMessages": config.max_messages,
                               "WaitTimeSeconds": config.wait_seconds}
    if config.visibility_timeout is not None:
        receive["VisibilityTimeout"] = config.visibility_timeout
    failures = 0
    log(outcome="started", queue=config.queue_url, sensor=config.sensor_url)
    while not stop.is_set():
        try:
            messages = sqs.receive_message(**receive).get("Messages", [])
            failures = 0
        except Exception as exc:  # the queue's server is down or throttling: back off, never crash-loop
            failures += 1
            log(outcome="receive-failed", error=f"{type(exc).__name__}: {exc}")
            stop.wait(min(30.0, 0.5 * 2 ** min(failures, 6)))
            continue
        for message in messages:
            handle(config, message, lambda receipt: sqs.delete_message(QueueUrl=config.queue_url,
                                                                         ReceiptHandle=receipt))
            if stop.is_set():
                break  # the others come back after their visibility timeout
    log(outcome="stopped")


def main() -> int:
    try:
        config = read_config(os.environ)
    except ConfigError as exc:
        print(f"kasset-sqs-source: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(config, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
