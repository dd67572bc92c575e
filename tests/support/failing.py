"""Make the kwok step pods of chosen partitions fail, without touching the product: a MutatingAdmissionPolicy
(admissionregistration.k8s.io/v1) adds the label `kasset.dev/kwok-fail: "true"` (see kwok-stages.yaml) to every
pod created in one namespace whose `kasset.dev/partition` label is one of the given keys.

The API server loads policies asynchronously: `failing_partitions` returns once a dry-run pod shows the label
(and, on exit, once it no longer does), so the test never races the policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from kubernetes import client

from support.clusterinfo import ClusterInfo, wait_for

GROUP, VERSION = "admissionregistration.k8s.io", "v1"
FAIL_LABEL = "kasset.dev/kwok-fail"
PARTITION_LABEL = "kasset.dev/partition"


def _policy(name: str, partitions: Sequence[str]) -> dict:
    keys = json.dumps(list(partitions))
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "MutatingAdmissionPolicy", "metadata": {"name": name},
        "spec": {
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                    "operations": ["CREATE"], "resources": ["pods"]}]},
            "matchConditions": [{"name": "partition", "expression":
                                 f"has(object.metadata.labels) && '{PARTITION_LABEL}' in object.metadata.labels && "
                                 f"object.metadata.labels['{PARTITION_LABEL}'] in {keys}"}],
            "failurePolicy": "Fail",
            "reinvocationPolicy": "Never",
            "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {"expression":
                           f'Object{{metadata: Object.metadata{{labels: {{"{FAIL_LABEL}": "true"}}}}}}'}}],
        },
    }


def _binding(name: str, namespace: str) -> dict:
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "MutatingAdmissionPolicyBinding", "metadata": {"name": name},
        "spec": {"policyName": name, "matchResources": {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}},
    }


def _labels_of_a_dry_run_pod(cluster: ClusterInfo, namespace: str, partition: str) -> dict[str, str]:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"generateName": "probe-", "labels": {PARTITION_LABEL: partition}},
           "spec": {"containers": [{"name": "probe", "image": "kasset/none:0"}]}}
    created = cluster.core.create_namespaced_pod(namespace, pod, dry_run="All")
    return created.metadata.labels or {}


@contextmanager
def failing_partitions(cluster: ClusterInfo, namespace: str, partitions: Sequence[str]) -> Iterator[None]:
    """While inside, kwok step pods of `partitions` in `namespace` fail (exit code 1)."""
    custom = client.CustomObjectsApi(cluster.api)
    name = f"kasset-fail-{namespace}"[:253]
    custom.create_cluster_custom_object(GROUP, VERSION, "mutatingadmissionpolicies", _policy(name, partitions))
    custom.create_cluster_custom_object(GROUP, VERSION, "mutatingadmissionpolicybindings", _binding(name, namespace))
    try:
        wait_for(lambda: FAIL_LABEL in _labels_of_a_dry_run_pod(cluster, namespace, partitions[0]), timeout=30,
                 what="the failing-partition policy to take effect")
        yield
    finally:
        for plural in ("mutatingadmissionpolicybindings", "mutatingadmissionpolicies"):
            try:
                custom.delete_cluster_custom_object(GROUP, VERSION, plural, name)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
    wait_for(lambda: FAIL_LABEL not in _labels_of_a_dry_run_pod(cluster, namespace, partitions[0]), timeout=30,
             what="the failing-partition policy to be gone")
