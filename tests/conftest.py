"""Test-wide fixtures: the Kubernetes cluster the integration and e2e tiers run against.

The cluster is the one named by `KASSET_KUBECONFIG` or `KUBECONFIG` when given; otherwise a local cluster
(real API server built from upstream sources) is started for the session in a temporary folder and
destroyed at the end. Unit tests never ask for it, so `pytest tests/unit` needs no cluster.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.clusterinfo import ClusterInfo, attach, start_session_cluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    given = os.environ.get("KASSET_KUBECONFIG") or os.environ.get("KUBECONFIG")
    if given:
        yield attach(Path(given))
        return
    local = start_session_cluster(Path(tmp_path_factory.mktemp("cluster", numbered=True)))
    try:
        yield attach(local.kubeconfig, local=local)
    finally:
        local.destroy()


@pytest.fixture
def namespace(cluster: ClusterInfo, request: pytest.FixtureRequest):
    """A fresh namespace per test, deleted afterwards (its objects are garbage-collected with it)."""
    name = cluster.create_namespace(request.node.name)
    yield name
    cluster.delete_namespace(name)


@pytest.fixture
def real_node(cluster: ClusterInfo) -> str:
    """The name of the real (kubelet + containerd) node; skips with the reason when there is none."""
    if not cluster.real_node:
        pytest.skip(f"no real node on this cluster: {cluster.real_node_skip_reason}")
    return cluster.real_node
