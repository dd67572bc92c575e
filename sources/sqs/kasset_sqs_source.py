"""Kasset's SQS source: long-polls an SQS queue and delivers each message to a container Sensor.

Run by the operator as a Sensor's `container` source, it gets KASSET_SENSOR_URL and KASSET_SENSOR_TOKEN; the
queue comes from SQS_QUEUE_URL; region from AWS_REGION or AWS_DEFAULT_REGION; a local server (ElasticMQ) from
AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL; credentials from boto3's own chain. The same image works against AWS
and against a local server.

Each message is one POST: its body (a JSON object) as the JSON body, its MessageId in X-Event-Id (the Run's key:
one message never makes two Runs). The message is deleted only after an answer saying its Run exists (201
created, 200 a duplicate). A permanent refusal (4xx) or a body that is not a JSON object is logged and left on
the queue: it comes back after the visibility timeout and goes to the queue's dead-letter queue when one is
configured. A 5xx, a 408/429 or no answer is retried with a bounded backoff, then left to the visibility
timeout. A failing ReceiveMessage is retried with a growing pause (up to 30 s), never a fast crash loop.
SIGTERM/SIGINT: the POST at hand finishes (no further retries), then the program exits 0. One JSON line per
message on stdout.

The decisions (config, body, answer -> delete/keep/retry, pauses) are pure functions; only `make_client` and
`run` touch boto3.

Does not: create Runs itself (the operator does, on the POST), configure the queue or its dead-letter queue.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: What to do with a message after an answer.
DELETE, KEEP, RETRY = "delete", "keep", "retry"
#: Pauses between the POSTs of one message while the answers are transient: 7 tries over ~11 s.
RETRY_DELAYS = (0.2, 0.4, 0.8, 1.6, 3.2, 5.0)
#: Transient 4xx: retried like a 5xx.
TRANSIENT_4XX = (408, 429)
POST_TIMEOUT_SECONDS = 30.0


class ConfigError(ValueError):
    """A missing or invalid environment variable (named in the message)."""


@dataclass(frozen=True)
class Config:
    queue_url: str
    sensor_url: str
    token: str
    region: str | None = None
    endpoint_url: str | None = None
    wait_seconds: int = 20
    max_messages: int = 10
    visibility_timeout: int | None = None


def _read_int(env: Mapping[str, str], name: str, default: int | None, low: int, high: int) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _read_url(env: Mapping[str, str], *names: str) -> str | None:
    """The first of `names` that is set, which must be an http(s) URL."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            if not value.startswith(("http://", "https://")):
                raise ConfigError(f"{name} must be an http:// or https:// URL, got {value!r}")
            return value
    return None


def read_config(env: Mapping[str, str]) -> Config:
    """The source's settings from `env`; ConfigError naming the variable when one is missing or invalid."""
    missing = [name for name in ("SQS_QUEUE_URL", "KASSET_SENSOR_URL", "KASSET_SENSOR_TOKEN")
               if not env.get(name, "").strip()]
    if missing:
        raise ConfigError(f"{', '.join(missing)} must be set")
    return Config(queue_url=env["SQS_QUEUE_URL"].strip(), sensor_url=_read_url(env, "KASSET_SENSOR_URL"),
                  token=env["KASSET_SENSOR_TOKEN"].strip(),
                  region=(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip() or None,
                  endpoint_url=_read_url(env, "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL"),
                  wait_seconds=_read_int(env, "SQS_WAIT_TIME_SECONDS", 20, 0, 20),
                  max_messages=_read_int(env, "SQS_MAX_MESSAGES", 10, 1, 10),
                  visibility_timeout=_read_int(env, "SQS_VISIBILITY_TIMEOUT", None, 0, 43200))


def parse_body(body: str) -> dict[str, Any] | None:
    """The message's JSON object, or None when the body is not one."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def parse_answer(status: int, raw: bytes) -> dict[str, Any]:
    """The answer's JSON object; `{"error": ...}` quoting the text when it is not one."""
    try:
        parsed = json.loads(raw or b"{}")
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    return {"error": f"HTTP {status}: {raw[:200].decode(errors='replace').strip()}"}


def decide(status: int | None) -> str:
    """DELETE once the Run exists (201, 200); RETRY on 5xx, 408, 429 or no answer; KEEP otherwise (a refusal)."""
    if status in (200, 201):
        return DELETE
    if status is None or status >= 500 or status in TRANSIENT_4XX:
        return RETRY
    return KEEP


def compute_receive_pause(failures: int) -> float:
    """Seconds to wait after `failures` ReceiveMessage errors in a row: 1, 2, 4 ... up to 30."""
    return min(30.0, 0.5 * 2 ** min(failures, 6))


def _read_error_body(exc: urllib.error.HTTPError) -> bytes:
    if exc.fp is None:
        return b""
    with exc:
        return exc.read()


def post_event(config: Config, event_id: str, body: dict[str, Any], *,
               timeout: float = POST_TIMEOUT_SECONDS) -> tuple[int | None, dict[str, Any]]:
    """POST one event; (HTTP status, answer), or (None, {"error": ...}) when there was no answer."""
    request = urllib.request.Request(config.sensor_url, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {config.token}", "X-Event-Id": event_id})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, parse_answer(response.status, response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, parse_answer(exc.code, _read_error_body(exc))
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, DNS, garbled
        return None, {"error": f"{type(exc).__name__}: {exc}"}


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def deliver(config: Config, event_id: str, body: dict[str, Any], *, delays=RETRY_DELAYS,
            pause: Callable[[float], bool] = _sleep) -> tuple[str, int | None, dict[str, Any]]:
    """POST until the answer is final, the retries are spent or `pause` says the source is stopping (returns
    True, like `threading.Event.wait`): (decision, status, answer) of the last POST."""
    for delay in (*delays, None):
        status, answer = post_event(config, event_id, body)
        decision = decide(status)
        if decision != RETRY or delay is None or pause(delay):
            return decision, status, answer
    raise AssertionError("unreachable")


def log(level: str, **fields: Any) -> None:
    """One JSON line on stdout."""
    print(json.dumps({"level": level, **fields}, separators=(",", ":"), default=str), flush=True)


def handle(config: Config, message: Mapping[str, Any], delete: Callable[[str], object], *,
           pause: Callable[[float], bool] = _sleep) -> str:
    """Deliver one SQS message, delete it only when its Run exists, log the outcome and return it:
    created, duplicate, refused, invalid, unavailable or delete-failed."""
    message_id = message["MessageId"]
    body = parse_body(message.get("Body") or "")
    if body is None:
        log("error", messageId=message_id, outcome="invalid", error="the body is not a JSON object: kept")
        return "invalid"
    decision, status, answer = deliver(config, message_id, body, pause=pause)
    if decision == KEEP:
        log("error", messageId=message_id, outcome="refused", status=status, error=answer.get("error"))
        return "refused"
    if decision == RETRY:
        log("warning", messageId=message_id, outcome="unavailable", status=status, error=answer.get("error"))
        return "unavailable"
    outcome = "duplicate" if status == 200 else "created"
    try:
        delete(message["ReceiptHandle"])
    except Exception as exc:  # noqa: BLE001 — any SQS error: the message comes back and is answered "duplicate"
        log("error", messageId=message_id, outcome="delete-failed", run=answer.get("run"),
            error=f"{type(exc).__name__}: {exc}")
        return "delete-failed"
    log("info", messageId=message_id, outcome=outcome, run=answer.get("run"), runKey=answer.get("runKey"))
    return outcome


def make_client(config: Config):
    """A boto3 SQS client for the config's region and endpoint (None: boto3's own chain)."""
    import boto3  # only the loop needs it: the delivery logic and its tests do not

    return boto3.client("sqs", region_name=config.region, endpoint_url=config.endpoint_url)


def run(config: Config, sqs, stop: threading.Event) -> None:
    """Receive and handle messages until `stop` is set; the message at hand is finished first."""
    receive: dict[str, Any] = {"QueueUrl": config.queue_url, "MaxNumberOfMessages": config.max_messages,
                               "WaitTimeSeconds": config.wait_seconds}
    if config.visibility_timeout is not None:
        receive["VisibilityTimeout"] = config.visibility_timeout

    def delete(receipt: str) -> None:
        sqs.delete_message(QueueUrl=config.queue_url, ReceiptHandle=receipt)

    failures = 0
    log("info", outcome="started", queue=config.queue_url, sensor=config.sensor_url)
    while not stop.is_set():
        try:
            messages = sqs.receive_message(**receive).get("Messages", [])
            failures = 0
        except Exception as exc:  # noqa: BLE001 — server down, throttled, no credentials: back off, never crash
            failures += 1
            pause = compute_receive_pause(failures)
            log("error", outcome="receive-failed", error=f"{type(exc).__name__}: {exc}", retryInSeconds=pause)
            stop.wait(pause)
            continue
        for message in messages:
            if stop.is_set():
                break  # the others come back after their visibility timeout
            handle(config, message, delete, pause=stop.wait)
    log("info", outcome="stopped")


def main() -> int:
    try:
        config = read_config(os.environ)
    except ConfigError as exc:
        print(f"kasset-sqs-source: {exc}", file=sys.stderr)
        return 2
    try:
        sqs = make_client(config)
    except Exception as exc:  # noqa: BLE001 — botocore's NoRegionError and friends: a config problem
        hint = "; set AWS_REGION or AWS_DEFAULT_REGION" if config.region is None else ""
        print(f"kasset-sqs-source: cannot make an SQS client: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(config, sqs, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
