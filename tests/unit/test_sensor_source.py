"""A container Sensor's source: the Deployment the operator runs for it (URL and token injected, restricted,
one replica, none while suspended, owned by the Sensor) and the SourceAvailable condition in its status."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kasset.api import find_condition
from kasset.api.sensor import Sensor
from kasset.builders.sourcedeployment import build_source_deployment
from kasset.builders.stepjob import BuildSettings
from kasset.planning.sensor import SourceState, plan_sensor_status
from kasset_factories import NAMESPACE

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
URL = "http://10.0.0.5:8080/sensors/team/orders"


def container_sensor(**container) -> Sensor:
    source = {"image": "kasset/sqs-source:0.1.0", "tokenSecretRef": {"name": "orders-token"},
              "env": [{"name": "SQS_QUEUE_URL", "value": "http://sqs:9324/queue/orders"}]} | container
    return Sensor.model_validate({"metadata": {"name": "orders", "namespace": NAMESPACE, "uid": "uid-orders",
                                               "generation": 1},
                                  "spec": {"container": source, "jobRef": {"name": "load"}}})


def test_the_source_gets_the_url_and_a_reference_to_the_token_never_its_value():
    deployment = build_source_deployment(container_sensor(), url=URL, settings=BuildSettings())
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [
        {"name": "KASSET_SENSOR_URL", "value": URL},
        {"name": "KASSET_SENSOR_TOKEN", "valueFrom": {"secretKeyRef": {"name": "orders-token", "key": "token"}}},
        {"name": "SQS_QUEUE_URL", "value": "http://sqs:9324/queue/orders"},
    ]
    assert container["image"] == "kasset/sqs-source:0.1.0"
    assert container["securityContext"]["runAsNonRoot"] and container["securityContext"]["capabilities"] == {
        "drop": ["ALL"]}


def test_one_replica_recreated_never_two_owned_by_the_sensor_and_selected_by_its_labels():
    deployment = build_source_deployment(container_sensor(), url=URL, settings=BuildSettings())
    spec, meta = deployment["spec"], deployment["metadata"]
    assert (meta["name"], meta["namespace"]) == ("orders-source", NAMESPACE)
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    assert spec["selector"]["matchLabels"] == meta["labels"] == {
        "app.kubernetes.io/managed-by": "kasset", "app.kubernetes.io/component": "sensor-source",
        "kasset.dev/sensor": "orders"}
    assert spec["template"]["metadata"]["labels"] == meta["labels"]
    (owner,) = meta["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("Sensor", "orders", "uid-orders",
                                                                                   True)
    assert spec["template"]["spec"]["automountServiceAccountToken"] is False


def test_a_suspended_sensor_runs_no_replica_and_any_change_changes_the_hash():
    settings = BuildSettings(node_selector={"kasset.dev/node-kind": "real"})
    base = build_source_deployment(container_sensor(), url=URL, settings=settings)
    sensor = container_sensor()
    suspended = sensor.model_copy(update={"spec": sensor.spec.model_copy(update={"suspend": True})})
    paused = build_source_deployment(suspended, url=URL, settings=settings)
    other_image = build_source_deployment(container_sensor(image="kasset/sqs-source:0.2.0"), url=URL,
                                          settings=settings)
    again = build_source_deployment(container_sensor(), url=URL, settings=settings)
    hashes = [d["metadata"]["annotations"]["kasset.dev/source-hash"] for d in (base, paused, other_image, again)]
    assert paused["spec"]["replicas"] == 0
    assert hashes[0] == hashes[3] and len(set(hashes[:3])) == 3
    assert base["spec"]["template"]["spec"]["nodeSelector"] == {"kasset.dev/node-kind": "real"}


def test_a_sensor_without_a_container_source_has_no_deployment():
    sensor = Sensor.model_validate({"metadata": {"name": "hook", "namespace": NAMESPACE},
                                    "spec": {"webhook": {"tokenSecretRef": {"name": "t"}}, "jobRef": {"name": "j"}}})
    with pytest.raises(ValueError, match="no container source"):
        build_source_deployment(sensor, url=URL, settings=BuildSettings())


def test_a_container_and_a_webhook_source_together_are_refused():
    with pytest.raises(ValueError, match="exactly one source"):
        Sensor.model_validate({"metadata": {"name": "x"}, "spec": {
            "webhook": {"tokenSecretRef": {"name": "t"}}, "jobRef": {"name": "j"},
            "container": {"image": "i", "tokenSecretRef": {"name": "t"}}}})


def test_status_tells_the_source_deployment_and_whether_it_is_available():
    sensor = container_sensor()
    state = SourceState("True", "Available", "Deployment orders-source: 1 replica available", "orders-source")
    status = plan_sensor_status(sensor, runs=[], now=NOW, endpoint="/sensors/team/orders", source=state)
    available = find_condition(status.conditions, "SourceAvailable")
    assert (available.status, available.reason) == ("True", "Available")
    assert status.source == "orders-source" and status.endpoint == "/sensors/team/orders"
    ready = find_condition(status.conditions, "Ready")
    assert ready.status == "True" and "source container POSTs events to /sensors/team/orders" in ready.message
    gone = plan_sensor_status(sensor.model_copy(update={"status": status}), runs=[], now=NOW, source=None)
    assert find_condition(gone.conditions, "SourceAvailable") is None and gone.source is None
