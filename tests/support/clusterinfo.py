"""What the tests know about the cluster they run against, and small helpers to use it.

Waiting is done with watches or bounded polls (`wait_for`), never with fixed sleeps.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

from kasset_tools.localcluster.cluster import Cluster
from kasset_tools.localcluster.layout import binaries


class WaitTimeout(AssertionError):
    pass


@dataclass
class ClusterInfo:
    kubeconfig: Path
    api: client.ApiClient
    real_node: str | None
    real_node_skip_reason: str | None
    local: Cluster | None = None
    kwok_nodes: list[str] = field(default_factory=list)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def batch(self) -> client.BatchV1Api:
        return client.BatchV1Api(self.api)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(binaries().kubectl), f"--kubeconfig={self.kubeconfig}", *args],
                              input=input, capture_output=True, text=True, check=check)

    def create_namespace(self, test_name: str, labels: dict[str, str] | None = None, *, prefix: str = "t") -> str:
        slug = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
        name = f"{prefix}-{slug}-{hashlib.sha1(f'{test_name}{time.time_ns()}'.encode()).hexdigest()[:6]}"
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
        wait_for(lambda: _has_default_sa(self.core, name), timeout=60, what=f"default SA in {name}")
        return name

    def delete_namespace(self, name: str) -> None:
        try:
            self.core.delete_namespace(name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise


def _has_default_sa(core: client.CoreV1Api, namespace: str) -> bool:
    try:
        core.read_namespaced_service_account("default", namespace)
        return True
    except client.ApiException as exc:
        if exc.status == 404:
            return False
        raise


def attach(kubeconfig: Path, *, local: Cluster | None = None) -> ClusterInfo:
    api = config.new_client_from_config(config_file=str(kubeconfig))
    core = client.CoreV1Api(api)
    real = core.list_node(label_selector="kasset.dev/node-kind=real").items
    ready = [n.metadata.name for n in real if _node_ready(n)]
    kwok = [n.metadata.name for n in core.list_node(label_selector="kasset.dev/node-kind=kwok").items]
    reason = None
    if not ready:
        state = local.state() if local else None
        reason = (state.real_node_skip_reason if state and state.real_node_skip_reason
                  else "no Ready node labelled kasset.dev/node-kind=real")
    return ClusterInfo(kubeconfig=kubeconfig, api=api, real_node=ready[0] if ready else None,
                       real_node_skip_reason=reason, local=local, kwok_nodes=kwok)


def _node_ready(node: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))


def start_session_cluster(directory: Path) -> Cluster:
    local = Cluster(directory)
    local.up(log=lambda msg: print(f"[cluster] {msg}", flush=True))
    return local


def wait_for(check: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy (bounded); return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def watch_until(list_fn: Callable, predicate: Callable[[Any], bool], *, timeout: float, what: str,
                **kwargs: Any) -> Any:
    """Watch objects from `list_fn` (e.g. BatchV1Api.list_namespaced_job) until one satisfies `predicate`.

    The list comes first, so an object that already satisfies it is returned at once.
    """
    listing = list_fn(**kwargs)
    for item in listing.items:
        if predicate(item):
            return item
    deadline = time.monotonic() + timeout
    w = watch.Watch()
    rv = listing.metadata.resource_version
    while (remaining := deadline - time.monotonic()) > 0:
        for event in w.stream(list_fn, resource_version=rv, timeout_seconds=max(1, int(remaining)), **kwargs):
            obj = event["object"]
            rv = obj.metadata.resource_version
            if event["type"] in ("ADDED", "MODIFIED") and predicate(obj):
                w.stop()
                return obj
    raise WaitTimeout(f"timed out after {timeout}s waiting for {what}")
