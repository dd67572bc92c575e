"""The API server enforces what Kasset relies on: CRD schemas with CEL rules, and RBAC."""

from __future__ import annotations

import pytest
from kubernetes import client

from support.clusterinfo import wait_for
from support.objects import kwok_job

GROUP = "cluster-tests.kasset.dev"

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"widgets.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {
                    "type": "object",
                    "required": ["size"],
                    "properties": {
                        "size": {"type": "integer", "minimum": 1},
                        "maxSize": {"type": "integer"},
                    },
                    "x-kubernetes-validations": [
                        {"rule": "!has(self.maxSize) || self.size <= self.maxSize",
                         "message": "spec.size must not exceed spec.maxSize", "fieldPath": ".size"},
                    ],
                }},
            }},
        }],
    },
}


@pytest.fixture(scope="module")
def widgets(cluster):
    ext = client.ApiextensionsV1Api(cluster.api)
    try:
        ext.create_custom_resource_definition(WIDGET_CRD)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    wait_for(lambda: any(c.type == "Established" and c.status == "True" for c in
                         (ext.read_custom_resource_definition(f"widgets.{GROUP}").status.conditions or [])),
             timeout=30, what="the Widget CRD to be established")
    yield client.CustomObjectsApi(cluster.api)
    ext.delete_custom_resource_definition(f"widgets.{GROUP}")


def widget(name: str, **spec) -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def test_valid_custom_object_is_accepted(widgets, namespace):
    created = widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", widget("ok", size=2, maxSize=3))
    assert created["spec"] == {"size": 2, "maxSize": 3}


def test_cel_rule_rejects_an_object_with_a_message_naming_the_field(widgets, namespace):
    with pytest.raises(client.ApiException) as err:
        widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", widget("big", size=5, maxSize=3))
    assert err.value.status == 422
    assert "spec.size" in err.value.body and "must not exceed spec.maxSize" in err.value.body


def test_schema_rejects_a_wrong_type_naming_the_field(widgets, namespace):
    with pytest.raises(client.ApiException) as err:
        widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", widget("typo", size="two"))
    assert err.value.status == 422
    assert "spec.size" in err.value.body


def _client_for_service_account(cluster, namespace: str, name: str) -> client.ApiClient:
    token = cluster.core.create_namespaced_service_account_token(
        name, namespace, client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
    ).status.token
    admin = cluster.api.configuration
    conf = client.Configuration()
    conf.host, conf.ssl_ca_cert = admin.host, admin.ssl_ca_cert
    conf.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(conf)


def test_service_account_with_a_namespaced_role_creates_jobs_only_in_its_namespace(cluster, namespace):
    other = cluster.create_namespace("rbac-other")
    try:
        cluster.core.create_namespaced_service_account(namespace, {"metadata": {"name": "launcher"}})
        rbac = client.RbacAuthorizationV1Api(cluster.api)
        rbac.create_namespaced_role(namespace, {
            "metadata": {"name": "job-launcher"},
            "rules": [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list"]}],
        })
        rbac.create_namespaced_role_binding(namespace, {
            "metadata": {"name": "job-launcher"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "job-launcher"},
            "subjects": [{"kind": "ServiceAccount", "name": "launcher", "namespace": namespace}],
        })
        batch = client.BatchV1Api(_client_for_service_account(cluster, namespace, "launcher"))

        def create_allowed():  # the RBAC authorizer sees the new binding through its informer: poll, bounded
            try:
                return batch.create_namespaced_job(namespace, kwok_job("allowed"))
            except client.ApiException as exc:
                if exc.status != 403:
                    raise
                return None

        assert wait_for(create_allowed, timeout=30, what="RBAC to allow the Role").metadata.name == "allowed"
        with pytest.raises(client.ApiException) as err:
            batch.create_namespaced_job(other, kwok_job("denied"))
        assert err.value.status == 403
        assert "forbidden" in err.value.body
    finally:
        cluster.delete_namespace(other)
