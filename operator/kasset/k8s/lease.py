"""Read, create and replace a `coordination.k8s.io/v1` Lease: the leader election's only API calls.

Replacing carries the resourceVersion that was read, so two replicas racing for the Lease cannot both win: the
loser gets `Conflict`. Every call is bounded by `timeout` in total (connect and response), which the leader
election derives from its renew deadline; a call that takes longer fails as a temporary `ApiError`.

Does not: retry (the caller's next attempt is the retry) or decide who leads.
"""

from __future__ import annotations

from kubernetes import client

from kasset.k8s.client import Kube


class Leases:
    def __init__(self, kube: Kube, *, timeout: float):
        self.kube = kube
        self.timeout = timeout
        self.api = client.CoordinationV1Api(kube.api)

    def get(self, namespace: str, name: str) -> dict:
        return self._call(f"get lease {name}", self.api.read_namespaced_lease, name, namespace)

    def create(self, namespace: str, body: dict) -> dict:
        return self._call(f"create lease {body['metadata']['name']}", self.api.create_namespaced_lease,
                          namespace, body)

    def replace(self, namespace: str, body: dict) -> dict:
        name = body["metadata"]["name"]
        return self._call(f"update lease {name}", self.api.replace_namespaced_lease, name, namespace, body)

    def _call(self, what: str, fn, *args) -> dict:
        return self.kube._call(what, fn, *args, _request_timeout=self.timeout)
