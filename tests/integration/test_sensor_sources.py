"""Container Sensors on kwok nodes: the operator runs the source as a one-replica Deployment with the Sensor's
URL and a reference to its token, reports it available, keeps it as the Sensor says (recreated when deleted,
replaced when changed, scaled to zero while suspended), and accepts the source's POSTs like a webhook's."""

from __future__ import annotations

from kubernetes import client

from support.clusterinfo import wait_for
from support.kasset import GROUP, VERSION, Kasset, asset, kwok_container, sensor
from support.webhook import TOKEN, post, token_secret


def source_sensor(image: str = "kasset/sqs-source:0.1.0", **spec) -> dict:
    source = {"image": image, "imagePullPolicy": "Never", "tokenSecretRef": {"name": "hook-token"},
              "env": [{"name": "SQS_QUEUE_URL", "value": "http://127.0.0.1:9324/000000000000/orders"}]}
    return sensor("orders", container=source, selection={"assets": ["loader"]},
                  params={"key": "{{ body.key }}"}, **spec)


def deployment(apps: client.AppsV1Api, namespace: str):
    try:
        return apps.read_namespaced_deployment("orders-source", namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def source_condition(kasset: Kasset) -> dict | None:
    conditions = (kasset.get("sensors", "orders").get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "SourceAvailable"), None)


def test_the_source_runs_as_a_deployment_given_the_url_and_token_and_its_posts_create_runs(
        cluster, kwok_operator, namespace):
    kasset, apps = Kasset(cluster, namespace), client.AppsV1Api(cluster.api)
    token_secret(cluster, namespace)
    kasset.create(asset("loader", container=kwok_container(delay="100ms")), source_sensor())
    made = wait_for(lambda: deployment(apps, namespace), timeout=30, what="the source Deployment")
    (container,) = made.spec.template.spec.containers
    env = {e.name: e for e in container.env}
    port = int(kwok_operator.env["KASSET_WEBHOOK_PORT"])
    assert env["KASSET_SENSOR_URL"].value == f"http://127.0.0.1:{port}/sensors/{namespace}/orders"
    assert env["KASSET_SENSOR_TOKEN"].value is None  # a reference, never the token itself
    assert env["KASSET_SENSOR_TOKEN"].value_from.secret_key_ref.name == "hook-token"
    assert env["SQS_QUEUE_URL"].value.endswith("/orders") and made.spec.replicas == 1
    (owner,) = made.metadata.owner_references
    assert (owner.kind, owner.name, owner.controller) == ("Sensor", "orders", True)
    available = wait_for(lambda: (c := source_condition(kasset)) and c["status"] == "True" and c, timeout=60,
                         what="SourceAvailable True (kwok runs the source pod)")
    assert available["reason"] == "Available"
    assert kasset.get("sensors", "orders")["status"]["source"] == "orders-source"

    status, answer = post(port, namespace, "orders", {"key": "in/a.zip"}, token=TOKEN, event_id="m-1")
    assert status == 201, answer
    assert kasset.get("runs", answer["run"])["spec"]["params"] == {"key": "in/a.zip"}
    status, again = post(port, namespace, "orders", {"key": "in/a.zip"}, token=TOKEN, event_id="m-1")
    assert (status, again["run"]) == (200, answer["run"])
    assert post(port, namespace, "orders", {"key": "k"}, token="wrong", event_id="m-2")[0] == 401


def test_the_source_deployment_follows_the_sensor_deleted_changed_and_suspended(cluster, kwok_operator, namespace):
    kasset, apps = Kasset(cluster, namespace), client.AppsV1Api(cluster.api)
    token_secret(cluster, namespace)
    kasset.create(asset("loader"), source_sensor())
    first = wait_for(lambda: deployment(apps, namespace), timeout=30, what="the source Deployment")
    apps.delete_namespaced_deployment("orders-source", namespace)
    wait_for(lambda: (d := deployment(apps, namespace)) and d.metadata.uid != first.metadata.uid, timeout=30,
             what="the deleted source Deployment to be recreated")

    def patch(spec: dict) -> None:
        kasset.custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "sensors", "orders", {"spec": spec})

    patch({"container": source_sensor(image="kasset/sqs-source:0.2.0")["spec"]["container"]})
    wait_for(lambda: (d := deployment(apps, namespace)) and
             d.spec.template.spec.containers[0].image == "kasset/sqs-source:0.2.0", timeout=30,
             what="the source Deployment to take the new image")
    patch({"suspend": True})
    wait_for(lambda: (d := deployment(apps, namespace)) and d.spec.replicas == 0, timeout=30,
             what="the suspended Sensor's source scaled to zero")
    suspended = wait_for(lambda: (c := source_condition(kasset)) and c["reason"] == "Suspended" and c, timeout=30,
                         what="SourceAvailable False (Suspended)")
    assert suspended["status"] == "False"
