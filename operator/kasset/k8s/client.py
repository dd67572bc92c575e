"""A small, typed facade over the Kubernetes client: Kasset's custom objects, batch Jobs, pods, Events.

Responses are decoded straight from JSON into dicts (`_preload_content=False`), which is both faster than the
client's model classes and what the pydantic models parse. Every call carries a timeout and is tried once:
`connect` turns urllib3's hidden retries off (its default `Retry(3)` made one hung call take four read timeouts),
and every caller already treats a connection error or a timeout as a temporary `ApiError`. Creating an object
that already exists returns `created=False`: deterministic names make "already exists" mean "already done".
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable
import json
import logging
from typing import Any

from kubernetes import client, config

from kasset.k8s.errors import ApiError, from_api_exception

GROUP = "kasset.dev"
VERSION = "v1alpha1"
#: Seconds to connect and to wait for a response of one (non-watch) API call.
DEFAULT_TIMEOUT = (5.0, 30.0)
log = logging.getLogger("kasset.k8s")


def connect(kubeconfig: str | None = None, *, qps_pool: int = 32) -> client.ApiClient:
    """An ApiClient from `kubeconfig`, $KUBECONFIG, or the in-cluster service account, in that order, with a
    connection pool large enough for the operator's workers and watches, and no urllib3 retries (a failed call
    fails once, within its own timeout; the callers decide whether and when to try again)."""
    try:
        api = config.new_client_from_config(config_file=kubeconfig)
    except config.ConfigException:
        config.load_incluster_config()
        api = client.ApiClient()
    pool_kw = api.rest_client.pool_manager.connection_pool_kw
    pool_kw["maxsize"] = qps_pool
    # kubernetes' rest.py hands Configuration.retries to the PoolManager only when set; unset is urllib3's Retry(3)
    pool_kw["retries"] = False
    return api


class Kube:
    def __init__(self, api: client.ApiClient, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 on_request: Callable[[str, int | str], None] | None = None):
        self.api = api
        self.timeout = timeout
        #: Told (verb, HTTP status or "error") after every request: the metrics count them.
        self.on_request = on_request or (lambda verb, code: None)
        #: Where `emit_event` hands its Events (None: written at once, on the caller's thread).
        self.event_sink: Callable[[dict], None] | None = None
        self.custom = client.CustomObjectsApi(api)
        self.batch = client.BatchV1Api(api)
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)

    # -- plumbing --------------------------------------------------------------------------------------

    def _call(self, what: str, fn, *args, **kwargs) -> Any:
        """`fn(*args, **kwargs)` decoded from JSON; `_request_timeout` in `kwargs` overrides `self.timeout`."""
        verb = what.split()[0]  # every `what` starts with its verb: "create job run-1-a"
        kwargs.setdefault("_request_timeout", self.timeout)
        try:
            response = fn(*args, _preload_content=False, **kwargs)
        except client.ApiException as exc:
            self.on_request(verb, exc.status or "error")
            raise from_api_exception(exc, what=what) from None
        except Exception as exc:  # urllib3 timeouts and connection errors: temporary by definition
            if type(exc).__module__.startswith(("urllib3", "socket", "ssl")) or isinstance(exc, OSError):
                self.on_request(verb, "error")
                raise ApiError(f"{what}: {type(exc).__name__}: {exc}") from None
            raise
        self.on_request(verb, response.status)
        return json.loads(response.data or b"null")

    # -- Kasset's custom objects -----------------------------------------------------------------------

    def get(self, plural: str, namespace: str, name: str) -> dict:
        return self._call(f"get {plural}/{name}", self.custom.get_namespaced_custom_object,
                          GROUP, VERSION, namespace, plural, name)

    def list(self, plural: str, namespace: str) -> list[dict]:
        """Every object of a kind in a namespace: for tools and the demo. Reconcilers read the cache instead."""
        return self._call(f"list {plural}", self.custom.list_namespaced_custom_object,
                          GROUP, VERSION, namespace, plural)["items"]

    def create(self, plural: str, namespace: str, body: dict) -> tuple[dict | None, bool]:
        """Create; (the object, True), or (None, False) when one of that name exists already."""
        name = body["metadata"]["name"]
        try:
            return self._call(f"create {plural}/{name}", self.custom.create_namespaced_custom_object,
                              GROUP, VERSION, namespace, plural, body), True
        except ApiError as exc:
            if exc.status != 409:
                raise
        return None, False

    def patch(self, plural: str, namespace: str, name: str, patch: dict) -> dict:
        """Merge-patch an object's spec or metadata (a `metadata.resourceVersion` in `patch` makes it
        conditional: Conflict when the object changed since it was read). For tools; the operator writes status."""
        return self._call(f"patch {plural}/{name}", self.custom.patch_namespaced_custom_object,
                          GROUP, VERSION, namespace, plural, name, patch)

    def delete(self, plural: str, namespace: str, name: str) -> None:
        """Delete with background propagation (owned step Jobs and pods go too); gone already is fine."""
        try:
            self._call(f"delete {plural}/{name}", self.custom.delete_namespaced_custom_object,
                       GROUP, VERSION, namespace, plural, name, propagation_policy="Background")
        except ApiError as exc:
            if exc.status != 404:
                raise

    def replace_status(self, plural: str, obj: dict, status: dict) -> dict:
        """Write `status` whole (the status subresource's PUT), guarded by `obj`'s resourceVersion: if the
        object changed since it was read, this raises Conflict instead of overwriting newer news. `obj` needs
        only apiVersion, kind and metadata (name, namespace, resourceVersion): the server keeps the spec."""
        meta = obj["metadata"]
        body = {"apiVersion": obj.get("apiVersion", f"{GROUP}/{VERSION}"), "kind": obj["kind"],
                "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                             "resourceVersion": meta["resourceVersion"]},
                "status": status}
        return self._call(f"update {plural}/{meta['name']}/status",
                          self.custom.replace_namespaced_custom_object_status,
                          GROUP, VERSION, meta["namespace"], plural, meta["name"], body)

    # -- batch Jobs and pods ----------------------------------------------------------------------------

    def _create_new(self, what: str, fn, namespace: str, body: dict) -> dict | None:
        """Create with `fn`: the created object, or None when an object of that name exists already (409)."""
        try:
            return self._call(f"create {what} {body['metadata']['name']}", fn, namespace, body)
        except ApiError as exc:
            if exc.status != 409:
                raise
        return None

    def create_job(self, namespace: str, body: dict) -> dict | None:
        """Create a batch/v1 Job: the created Job, or None when one of that name exists already."""
        return self._create_new("job", self.batch.create_namespaced_job, namespace, body)

    def get_job(self, namespace: str, name: str) -> dict:
        return self._call(f"get job {name}", self.batch.read_namespaced_job, name, namespace)

    def create_deployment(self, namespace: str, body: dict) -> dict | None:
        """Create an apps/v1 Deployment (a Sensor's source): the created one, or None when one of that name
        exists already."""
        return self._create_new("deployment", self.apps.create_namespaced_deployment, namespace, body)

    def replace_deployment(self, namespace: str, body: dict) -> dict:
        """PUT a Deployment whole; `metadata.resourceVersion` in `body` makes it conditional (Conflict)."""
        name = body["metadata"]["name"]
        return self._call(f"update deployment {name}", self.apps.replace_namespaced_deployment, name, namespace,
                          body)

    def delete_deployment(self, namespace: str, name: str) -> None:
        """Delete a Deployment and (background) its ReplicaSets and pods; gone already is fine."""
        try:
            self._call(f"delete deployment {name}", self.apps.delete_namespaced_deployment, name, namespace,
                       propagation_policy="Background")
        except ApiError as exc:
            if exc.status != 404:
                raise

    def get_secret_value(self, namespace: str, name: str, key: str) -> bytes | None:
        """The decoded value of `key` in Secret `name` (None when the key is absent); NotFound when the Secret is."""
        secret = self._call(f"get secret {name}", self.core.read_namespaced_secret, name, namespace)
        value = (secret.get("data") or {}).get(key)
        return None if value is None else base64.b64decode(value)

    def list_pods(self, namespace: str, *, label_selector: str, field_selector: str | None = None,
                  limit: int | None = None) -> list[dict]:
        kwargs: dict[str, Any] = {"label_selector": label_selector}
        if field_selector:
            kwargs["field_selector"] = field_selector
        if limit:
            kwargs["limit"] = limit
        return self._call("list pods", self.core.list_namespaced_pod, namespace, **kwargs)["items"]

    # -- Events -----------------------------------------------------------------------------------------

    def emit_event(self, obj: dict, *, type_: str, reason: str, message: str) -> None:
        """Record a core/v1 Event on `obj` (best effort: a failure is logged, never raised), through
        `event_sink` when one is set (the controller's `EventWriter`: off the caller's thread), else now."""
        meta = obj["metadata"]
        now = datetime.datetime.now(datetime.timezone.utc)
        event = {
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta.get("uid")},
            "type": type_, "reason": reason, "message": message[:1024],
            "firstTimestamp": now.isoformat(), "lastTimestamp": now.isoformat(), "count": 1,
            "source": {"component": "kasset-operator"},
            "reportingComponent": "kasset.dev/operator", "reportingInstance": "kasset-operator",
        }
        (self.event_sink or self.write_event)(event)

    def write_event(self, event: dict) -> dict | None:
        """Create `event` (a core/v1 Event body): the created Event, or None (a failure is logged, never raised)."""
        involved = event["involvedObject"]
        try:
            return self._call("create event", self.core.create_namespaced_event, involved["namespace"], event)
        except ApiError as exc:
            log.warning("Could not record event %s on %s/%s: %s", event["reason"], involved["kind"],
                        involved["name"], exc)
            return None

    def patch_event(self, namespace: str, name: str, patch: dict) -> dict | None:
        """Merge-patch Event `name` (a repeat's count): the patched Event, or None when it is gone or failed."""
        try:
            return self._call(f"patch event {name}", self.core.patch_namespaced_event, name, namespace, patch)
        except ApiError as exc:
            if exc.status != 404:
                log.warning("Could not count a repeat of Event %s/%s: %s", namespace, name, exc)
            return None
