"""Build the apps/v1 Deployment that runs a container Sensor's source.

One replica (`Recreate`: never two sources at once during a rollout; zero while the Sensor is suspended),
owned by the Sensor (controller owner reference: deleting the Sensor deletes it), labelled with the Sensor and
the component, and under the same restricted profile, node selector and tolerations as step pods. The source
gets `KASSET_SENSOR_URL` (where to POST events) and `KASSET_SENSOR_TOKEN` (a secretKeyRef to the Sensor's
token: the value never appears in the manifest). The annotation `kasset.dev/source-hash` is a hash of
everything the operator wrote, so the reconciler replaces the Deployment only when the Sensor changed it.

Does not: decide when to create or replace it (see `kasset.reconcilers.sensorsource`) or talk to the API.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kasset.api.contract import (
    ANNOTATION_SOURCE_HASH,
    COMPONENT_SENSOR_SOURCE,
    LABEL_COMPONENT,
    LABEL_MANAGED_BY,
    LABEL_SENSOR,
    MANAGED_BY,
)
from kasset.api.sensor import Sensor
from kasset.builders.stepjob import (
    BuildSettings,
    build_owner_reference,
    build_pod_metadata,
    build_restricted_pod,
    build_user_container,
)
from kasset.planning.names import sanitize_label_value

CONTAINER_NAME = "source"
ENV_SENSOR_URL = "KASSET_SENSOR_URL"
ENV_SENSOR_TOKEN = "KASSET_SENSOR_TOKEN"
#: Seconds a source has to finish the event it is delivering after SIGTERM.
GRACE_SECONDS = 30


def source_deployment_name(sensor: str) -> str:
    return f"{sensor}-source"


def source_labels(sensor: str) -> dict[str, str]:
    """The Deployment's labels and its pods' selector."""
    return {LABEL_MANAGED_BY: MANAGED_BY, LABEL_COMPONENT: COMPONENT_SENSOR_SOURCE,
            LABEL_SENSOR: sanitize_label_value(sensor)}


def build_source_deployment(sensor: Sensor, *, url: str, settings: BuildSettings) -> dict[str, Any]:
    """The Deployment of `sensor`'s container source, POSTing to `url`."""
    source = sensor.spec.container
    if source is None:
        raise ValueError(f"Sensor {sensor.metadata.name} has no container source")
    name, labels = sensor.metadata.name, source_labels(sensor.metadata.name)
    env = [{"name": ENV_SENSOR_URL, "value": url},
           {"name": ENV_SENSOR_TOKEN, "valueFrom": {"secretKeyRef": {"name": source.token_secret_ref.name,
                                                                      "key": source.token_secret_ref.key}}}]
    pod = build_restricted_pod(source, build_user_container(source, name=CONTAINER_NAME, env=env),
                               volumes=source.volumes, settings=settings)
    spec = {
        "replicas": 0 if sensor.spec.suspend else 1,
        "strategy": {"type": "Recreate"},
        "revisionHistoryLimit": 2,
        "selector": {"matchLabels": labels},
        "template": {"metadata": build_pod_metadata(source, settings=settings, labels=labels, annotations={}),
                     "spec": {**pod, "terminationGracePeriodSeconds": GRACE_SECONDS}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": source_deployment_name(name),
            "namespace": sensor.metadata.namespace,
            "labels": labels,
            "annotations": {ANNOTATION_SOURCE_HASH: spec_hash(spec)},
            "ownerReferences": [build_owner_reference(sensor, "Sensor")],
        },
        "spec": spec,
    }


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]
