"""Post events to a Sensor's webhook on an operator's port, as a source would: JSON body, bearer token, event id
header (with the token of `token_secret`); `post_until_accepted` retries (bounded) while the operator is down or answers 503."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request

from kubernetes import client

#: The token of the Secret `token_secret` creates.
TOKEN = "s3cr3t-token"


def token_secret(cluster, namespace: str, name: str = "hook-token") -> None:
    """A Secret holding TOKEN under key `token`, as a Sensor's tokenSecretRef names it."""
    client.CoreV1Api(cluster.api).create_namespaced_secret(namespace, {
        "metadata": {"name": name}, "data": {"token": base64.b64encode(TOKEN.encode()).decode()}})


def post(port: int, namespace: str, sensor: str, body, *, token: str | None, event_id: str | None = None,
         timeout: float = 10) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if event_id is not None:
        headers["X-Event-Id"] = event_id
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/sensors/{namespace}/{sensor}", data=data,
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def post_until_accepted(port: int, namespace: str, sensor: str, body, *, token: str, event_id: str,
                        timeout: float = 120) -> tuple[int, dict]:
    """POST until a 2xx answer (connection refused or 503 while the operator restarts), bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, answer = post(port, namespace, sensor, body, token=token, event_id=event_id)
            if status < 300:
                return status, answer
            if status != 503:
                raise AssertionError(f"event {event_id}: HTTP {status} {answer}")
        except OSError:
            pass  # the operator is down: a source retries
        if time.monotonic() > deadline:
            raise AssertionError(f"event {event_id} not accepted within {timeout}s")
        time.sleep(0.05)
