"""A webhook call to a Sensor: authenticate, read the event, create its Run, and answer.

`POST /sensors/<namespace>/<sensor>` with `Authorization: Bearer <token>` and a JSON body, from a webhook
caller or from a container Sensor's source (which sends each event's id in `X-Event-Id`). The answer comes after
the Run exists, so a caller (the SQS source) may delete its message on any 2xx:
- 201 `{"run": ..., "runKey": ...}`: the Run was created; 200 with `"duplicate": true`: this event's Run existed
  (a retry or a replay: nothing more is created);
- **401, the same body for every unauthenticated caller**: no bearer token, a wrong one, no such Sensor (or an
  assetMaterialized one), or a Sensor whose token Secret is missing or blank. A caller without the token learns
  nothing about which Sensors or Secrets exist (Kubernetes' own API answers 401/404 the same way);
- after authentication: 400 the body is not a JSON object, or the event id is missing; 422 a template does not
  render (the message names the field); 503 the Sensor is suspended or the API server failed (retry);
- 503 before authentication only while the operator is starting, or when the token cannot be read (API error).
The Sensor's owner sees why calls were refused in Warning Events `EventRefused` on the Sensor, which the
EventWriter aggregates (one Event with a count per distinct message, as client-go's EventCorrelator does), and
in `kasset_sensor_events_total{outcome="refused"}`.

The namespace and name are checked against Kubernetes' name rules and looked up without creating anything, so
requests to random paths cost no memory. Tokens are compared in constant time (`hmac.compare_digest`), after
stripping whitespace; a blank token accepts nothing. The Secret is read with a GET and kept for
`TOKEN_TTL_SECONDS`, so a rotated token takes effect within that time and a burst costs one read.

Does not: parse HTTP (see `kasset.runtime.server`) or turn events into Run requests (see `planning.sensor`).
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from kasset.api.base import NAME_MAX_LENGTH
from kasset.api.sensor import EVENT_ID_MAX_LENGTH, Sensor
from kasset.k8s import ApiError, NotFound
from kasset.planning.sensor import body_event_id, webhook_event
from kasset.planning.templates import TemplateError
from kasset.reconcilers.runtime import Runtime
from kasset.reconcilers.sensor import emit, request_event_run

TOKEN_TTL_SECONDS = 10.0
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
#: The header a container source sends each event's id in (its runKey).
SOURCE_EVENT_ID_HEADER = "X-Event-Id"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict

    def encode(self) -> bytes:
        return (json.dumps(self.body, separators=(",", ":")) + "\n").encode()


#: The one answer every unauthenticated caller gets.
UNAUTHORIZED = Answer(401, {"error": "unauthorized: send the Sensor's token as 'Authorization: Bearer <token>'"})


class Webhooks:
    """Answers webhook calls for the Sensors in the cache."""

    def __init__(self, rt: Runtime, *, ready: threading.Event):
        self.rt, self.ready = rt, ready
        self._tokens: dict[tuple[str, str, str], tuple[float, bytes | None]] = {}
        self._lock = threading.Lock()

    def serve(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str, bytes]:
        """The server's POST route for `/sensors/<namespace>/<name>` (`path` is `<namespace>/<name>`)."""
        parts = path.strip("/").split("/")
        answer = (self.handle(parts[0], parts[1], headers, body) if len(parts) == 2 and all(map(_is_name, parts))
                  else Answer(404, {"error": "POST to /sensors/<namespace>/<sensor>"}))
        return answer.status, "application/json", answer.encode()

    def handle(self, namespace: str, name: str, headers: Mapping[str, str], body: bytes) -> Answer:
        if not self.ready.is_set():  # a Sensor missing from a cache still filling is no answer: retry
            return Answer(503, {"error": "the operator is starting (caches not synced); retry"})
        ns = self.rt.cache.find_namespace(namespace)
        sensor = ns.sensors.valid.get(name) if ns is not None else None
        refusal = self._authenticate(sensor, headers)
        if refusal is None:
            refusal = self._read(sensor, headers, body)
        if isinstance(refusal, Answer):
            self.rt.metrics.sensor_events.labels("refused").inc()
            return refusal
        try:
            run = request_event_run(self.rt, ns, sensor, webhook_event(*refusal))
        except TemplateError as exc:
            self.rt.metrics.sensor_events.labels("refused").inc()
            return Answer(422, {"error": str(exc)})
        except ApiError as exc:
            return Answer(503, {"error": f"the API server did not create the Run; retry: {exc}"})
        if run is None:
            return Answer(503, {"error": "the Run could not be created or read; retry"})
        self.rt.metrics.sensor_events.labels("created" if run.created else "duplicate").inc()
        answer = {"run": run.name, "runKey": run.run_key}
        return Answer(201, answer) if run.created else Answer(200, answer | {"duplicate": True})

    def _authenticate(self, sensor: Sensor | None, headers: Mapping[str, str]) -> Answer | None:
        """None when the caller holds the Sensor's token; else the uniform 401 (or 503: the token is unreadable).
        Only the Sensor's owner learns why, from an Event."""
        if sensor is None or sensor.spec.asset_materialized is not None:
            return UNAUTHORIZED
        token = self._token(sensor)
        if isinstance(token, Answer):
            return token
        given = headers.get("Authorization", "")
        why = None
        if not token:
            source = "webhook" if sensor.spec.webhook is not None else "container"
            ref = (sensor.spec.webhook or sensor.spec.container).token_secret_ref
            why = f"Secret {ref.name} (key {ref.key}) of spec.{source}.tokenSecretRef is missing or blank"
        elif not given.startswith("Bearer "):
            why = "no bearer token (send 'Authorization: Bearer <token>')"
        elif not hmac.compare_digest(given.removeprefix("Bearer ").strip().encode(), token):
            why = "wrong token"
        if why is None:
            return None
        emit(self.rt, sensor, "Warning", "EventRefused", f"HTTP 401: {why}")
        return UNAUTHORIZED

    def _read(self, sensor: Sensor, headers: Mapping[str, str], body: bytes) -> Answer | tuple[str, object]:
        """An authenticated call: an Answer refusing it, or (event id, parsed body)."""
        refusal = self._parse(sensor, headers, body)
        if isinstance(refusal, Answer):
            emit(self.rt, sensor, "Warning", "EventRefused", f"HTTP {refusal.status}: {refusal.body['error']}")
        return refusal

    def _parse(self, sensor: Sensor, headers: Mapping[str, str], body: bytes) -> Answer | tuple[str, object]:
        if sensor.spec.suspend:
            return Answer(503, {"error": "the Sensor is suspended (spec.suspend)"})
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
        """The Sensor's token, stripped (b"" when its Secret or key is missing or blank), or 503 on an API error."""
        source = sensor.spec.webhook or sensor.spec.container
        ref, namespace = source.token_secret_ref, sensor.metadata.namespace
        key, now = (namespace, ref.name, ref.key), time.monotonic()
        with self._lock:
            cached = self._tokens.get(key)
        if cached is None or now - cached[0] > TOKEN_TTL_SECONDS:
            try:
                value = (self.rt.kube.get_secret_value(namespace, ref.name, ref.key) or b"").strip()
            except NotFound:
                value = b""
            except ApiError as exc:
                return Answer(503, {"error": f"the token could not be read; retry: {exc}"})
            cached = (now, value)
            with self._lock:
                self._tokens[key] = cached
        return cached[1]


def _is_name(part: str) -> bool:
    """A namespace's or Sensor's name: a DNS subdomain (namespaces are labels, a subset)."""
    return len(part) <= NAME_MAX_LENGTH and _NAME.fullmatch(part) is not None


def _event_id_source(sensor: Sensor) -> tuple[str, str | None]:
    """The header (and the body field, if any) that carries an event's id: the webhook's own, or the fixed
    `X-Event-Id` of source containers."""
    if sensor.spec.webhook is not None:
        return sensor.spec.webhook.event_id_header, sensor.spec.webhook.event_id_field
    return SOURCE_EVENT_ID_HEADER, None
