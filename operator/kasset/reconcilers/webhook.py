"""A webhook call to a Sensor: authenticate, read the event, create its Run, and answer.

`POST /sensors/<namespace>/<sensor>` with `Authorization: Bearer <token>` and a JSON body, from a webhook
caller or from a container Sensor's source (which sends each event's id in `X-Event-Id`). The answer comes after
the Run exists, so a caller (the SQS source) may delete its message on any 2xx:
- 201 `{"run": ..., "runKey": ...}`: the Run was created; 200 with `"duplicate": true`: this event's Run existed
  (a retry or a replay: nothing more is created);
- 400 the body is not a JSON object, or the event id is missing; 401 no bearer token; 403 a wrong token;
  404 no such Sensor (or an assetMaterialized one); 422 a template does not render (the message names the field);
  503 the operator is starting, the Sensor is suspended, its Secret is missing, or the API server failed
  (retry).
Every refusal is a Warning Event `EventRefused` on the Sensor (except 404: there is no Sensor to tell).

Tokens are compared in constant time (`hmac.compare_digest`). The Secret is read with a GET and kept for
`TOKEN_TTL_SECONDS`, so a rotated token takes effect within that time and a burst costs one read.

Does not: parse HTTP (see `kasset.runtime.server`) or turn events into Run requests (see `planning.sensor`).
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from kasset.api.sensor import EVENT_ID_MAX_LENGTH, Sensor
from kasset.k8s import ApiError, NotFound
from kasset.planning.sensor import body_event_id, webhook_event
from kasset.planning.templates import TemplateError
from kasset.reconcilers.runtime import Runtime
from kasset.reconcilers.sensor import emit, request_event_run

TOKEN_TTL_SECONDS = 10.0
#: The header a container source sends each event's id in (its runKey).
SOURCE_EVENT_ID_HEADER = "X-Event-Id"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict

    def encode(self) -> bytes:
        return (json.dumps(self.body, separators=(",", ":")) + "\n").encode()


class Webhooks:
    """Answers webhook calls for the Sensors in the cache."""

    def __init__(self, rt: Runtime, *, ready: threading.Event):
        self.rt, self.ready = rt, ready
        self._tokens: dict[tuple[str, str, str], tuple[float, bytes | None]] = {}
        self._lock = threading.Lock()

    def serve(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str, bytes]:
        """The server's POST route for `/sensors/<namespace>/<name>` (`path` is `<namespace>/<name>`)."""
        parts = path.strip("/").split("/")
        answer = (self.handle(parts[0], parts[1], headers, body) if len(parts) == 2 and all(parts)
                  else Answer(404, {"error": "POST to /sensors/<namespace>/<sensor>"}))
        return answer.status, "application/json", answer.encode()

    def handle(self, namespace: str, name: str, headers: Mapping[str, str], body: bytes) -> Answer:
        if not self.ready.is_set():  # a Sensor missing from a cache still filling is no answer: retry
            return Answer(503, {"error": "the operator is starting (caches not synced); retry"})
        ns = self.rt.cache.namespace(namespace)
        sensor = ns.sensors.valid.get(name)
        if sensor is None or sensor.spec.asset_materialized is not None:
            return Answer(404, {"error": f"no webhook or container Sensor {namespace}/{name}"})
        refusal = self._refusal(sensor, headers, body)
        if isinstance(refusal, Answer):
            emit(self.rt, sensor, "Warning", "EventRefused", f"HTTP {refusal.status}: {refusal.body['error']}")
            self.rt.metrics.sensor_events.labels("refused").inc()
            return refusal
        event = webhook_event(*refusal)
        try:
            run, created = request_event_run(self.rt, ns, sensor, event)
        except TemplateError as exc:
            self.rt.metrics.sensor_events.labels("refused").inc()
            return Answer(422, {"error": str(exc)})
        except ApiError as exc:
            return Answer(503, {"error": f"the API server did not create the Run; retry: {exc}"})
        if run is None:
            return Answer(503, {"error": "the Run could not be created or read; retry"})
        self.rt.metrics.sensor_events.labels("created" if created else "duplicate").inc()
        answer = {"run": run.metadata.name, "runKey": run.spec.run_key}
        return Answer(201, answer) if created else Answer(200, answer | {"duplicate": True})

    def _refusal(self, sensor: Sensor, headers: Mapping[str, str], body: bytes) -> Answer | tuple[str, object]:
        """An Answer refusing the call, or (event id, parsed body)."""
        if sensor.spec.suspend:
            return Answer(503, {"error": "the Sensor is suspended (spec.suspend)"})
        token = self._token(sensor)
        if isinstance(token, Answer):
            return token
        given = headers.get("Authorization", "")
        if not given.startswith("Bearer "):
            return Answer(401, {"error": "missing token: send 'Authorization: Bearer <token>'"})
        if not hmac.compare_digest(given.removeprefix("Bearer ").strip().encode(), token.strip()):
            return Answer(403, {"error": "wrong token"})
        try:
            parsed = json.loads(body or b"null")
        except ValueError as exc:
            return Answer(400, {"error": f"the body is not JSON: {exc}"})
        if not isinstance(parsed, dict):
            return Answer(400, {"error": "the body must be a JSON object"})
        header, field = _event_id_source(sensor)
        event_id = headers.get(header) or (body_event_id(parsed, f"body.{field}") if field else None)
        if not event_id:
            where = f"header {header}" + (f" or body field {field}" if field else "")
            return Answer(400, {"error": f"missing event id: set {where}"})
        if len(event_id) > EVENT_ID_MAX_LENGTH:
            return Answer(400, {"error": f"the event id is longer than {EVENT_ID_MAX_LENGTH} characters"})
        return event_id, parsed

    def _token(self, sensor: Sensor) -> bytes | Answer:
        source = sensor.spec.webhook or sensor.spec.container
        ref, namespace = source.token_secret_ref, sensor.metadata.namespace
        key, now = (namespace, ref.name, ref.key), time.monotonic()
        with self._lock:
            cached = self._tokens.get(key)
        if cached is None or now - cached[0] > TOKEN_TTL_SECONDS:
            try:
                value = self.rt.kube.get_secret_value(namespace, ref.name, ref.key)
            except NotFound:
                value = None
            except ApiError as exc:
                return Answer(503, {"error": f"could not read Secret {ref.name}: {exc}"})
            cached = (now, value)
            with self._lock:
                self._tokens[key] = cached
        if not cached[1]:
            where = "webhook" if sensor.spec.webhook is not None else "container"
            return Answer(503, {"error": f"Secret {ref.name} (key {ref.key}) of spec.{where}.tokenSecretRef is "
                                         "missing"})
        return cached[1]


def _event_id_source(sensor: Sensor) -> tuple[str, str | None]:
    """The header (and the body field, if any) that carries an event's id: the webhook's own, or the fixed
    `X-Event-Id` of source containers."""
    if sensor.spec.webhook is not None:
        return sensor.spec.webhook.event_id_header, sensor.spec.webhook.event_id_field
    return SOURCE_EVENT_ID_HEADER, None
