"""A container Sensor's source: keep its Deployment as the Sensor says, and report whether it is available.

Reads the Deployment from the cache (an informer on the operator's source Deployments, by label), never by
listing. Creates it when missing, replaces it when the spec hash the operator wrote differs from the one the
Sensor now gives (a changed image, env, suspend...), and deletes it when the Sensor no longer has a container
source. The SourceAvailable condition mirrors the Deployment's Available condition (Suspended while the Sensor
is).

Does not: build the manifest (see `kasset.builders.sourcedeployment`) or deliver events (the source POSTs to
the webhook endpoint, see `kasset.reconcilers.webhook`).
"""

from __future__ import annotations

import logging

from kasset.api.contract import ANNOTATION_SOURCE_HASH
from kasset.api.sensor import Sensor
from kasset.builders.sourcedeployment import build_source_deployment
from kasset.k8s import Conflict
from kasset.planning.dag import Problem
from kasset.planning.sensor import SourceState
from kasset.reconcilers.runtime import Runtime
from kasset.runtime.cache import NamespaceCache

log = logging.getLogger("kasset.sensor")


def endpoint_url(base: str, path: str) -> str:
    return base.rstrip("/") + path


def reconcile_source(rt: Runtime, ns: NamespaceCache, sensor: Sensor, path: str) -> SourceState | Problem | None:
    """Bring the source Deployment in line with `sensor`; None when it has no container source (a Deployment
    it had is deleted), a Problem when the operator cannot run one, else the source's state."""
    name = sensor.metadata.name
    held = ns.source_of(name)
    if sensor.spec.container is None:
        if held is not None:
            rt.kube.delete_deployment(ns.name, held["metadata"]["name"])
        return None
    if not rt.settings.sensor_base_url:
        return Problem("NoSensorURL", "the operator has no sensorBaseURL (KASSET_SENSOR_BASE_URL): the source "
                                      "would not know where to POST events")
    desired = build_source_deployment(sensor, url=endpoint_url(rt.settings.sensor_base_url, path),
                                      settings=rt.build_settings)
    deployment = desired["metadata"]["name"]
    if held is not None and held["metadata"].get("deletionTimestamp"):  # its DELETED event brings us back
        return SourceState("Unknown", "Deleting", "the old source Deployment is being deleted", deployment)
    if held is None:
        if rt.kube.create_deployment(ns.name, desired) is not None:
            log.info("Created source Deployment %s/%s", ns.name, deployment)
        return SourceState("Unknown", "Creating", "the source Deployment was created", deployment)
    wanted = desired["metadata"]["annotations"][ANNOTATION_SOURCE_HASH]
    if (held["metadata"].get("annotations") or {}).get(ANNOTATION_SOURCE_HASH) != wanted:
        desired["metadata"]["resourceVersion"] = held["metadata"]["resourceVersion"]
        try:
            rt.kube.replace_deployment(ns.name, desired)
            log.info("Replaced source Deployment %s/%s", ns.name, deployment)
        except Conflict:
            pass  # the informer brings the newer version, and the Sensor reconciles again
        return SourceState("Unknown", "Updating", "the source Deployment was updated", deployment)
    return _state(sensor, held)


def _state(sensor: Sensor, held: dict) -> SourceState:
    deployment = held["metadata"]["name"]
    if sensor.spec.suspend:
        return SourceState("False", "Suspended", "spec.suspend is true: the source runs no replica", deployment)
    available = next((c for c in (held.get("status") or {}).get("conditions") or [] if c.get("type") == "Available"),
                     None)
    if available is None:
        return SourceState("Unknown", "Starting", "the source Deployment has no Available condition yet", deployment)
    ready = (held.get("status") or {}).get("availableReplicas") or 0
    if available.get("status") == "True" and ready >= 1:
        return SourceState("True", "Available", f"Deployment {deployment}: {ready} replica available", deployment)
    return SourceState("False", available.get("reason") or "Unavailable",
                       available.get("message") or f"Deployment {deployment} has no available replica", deployment)
