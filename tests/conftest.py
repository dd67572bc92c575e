"""Test-wide fixtures: the Kubernetes cluster the integration and e2e tiers run against.

The cluster is the one named by `KASSET_KUBECONFIG` or `KUBECONFIG` when given; otherwise a local cluster
(real API server built from upstream sources) is started for the session in a temporary folder and
destroyed at the end. Unit tests never ask for it, so `pytest tests/unit` needs no cluster.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kasset.k8s.crds import install_crds
from support.clusterinfo import ClusterInfo, attach, start_session_cluster
from support.operator import free_port, operator_fixture


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


MISSING_REFERENCE_GRACE_SECONDS = 3
TIER_PREFIXES = {"integration": "it", "chaos": "it", "bench": "it", "e2e": "e2e"}


def tier_prefix(request: pytest.FixtureRequest) -> str:
    """Namespaces are named by tier, so each tier's operator watches only its own (`it-*`, `e2e-*`)."""
    parts = Path(str(request.node.path)).parts
    return next((TIER_PREFIXES[p] for p in parts if p in TIER_PREFIXES), "t")


@pytest.fixture
def namespace(cluster: ClusterInfo, request: pytest.FixtureRequest):
    """A fresh namespace per test, deleted afterwards (its objects are garbage-collected with it)."""
    name = cluster.create_namespace(request.node.name, prefix=tier_prefix(request))
    yield name
    cluster.delete_namespace(name)


@pytest.fixture(scope="session")
def crds(cluster: ClusterInfo) -> list[str]:
    """Kasset's CRDs, installed from crds/ (generated from the models)."""
    return install_crds(cluster.api)


def _operator(cluster: ClusterInfo, tmp_path_factory, *, pattern: str, node_kind: str,
              env: dict[str, str] | None = None):
    log_path = Path(tmp_path_factory.mktemp("operator")) / f"operator-{node_kind}.log"
    yield from operator_fixture(cluster.kubeconfig, log_path, pattern=pattern, node_kind=node_kind, env=env)


@pytest.fixture(autouse=True)
def no_operator_tracebacks(request: pytest.FixtureRequest):
    """Every test that ran an operator fails when the operator's log gained a traceback during the test."""
    operators = [request.getfixturevalue(name) for name in request.fixturenames if name.endswith("operator")]
    before = [len(op.tracebacks()) for op in operators]
    yield
    for op, seen in zip(operators, before):
        new = op.tracebacks()[seen:]
        assert not new, "the operator logged tracebacks during this test:\n" + "\n\n".join(new)


@pytest.fixture(scope="session")
def kwok_operator(cluster: ClusterInfo, crds, tmp_path_factory):
    """The operator for the integration tier: watches `it-*` namespaces, step pods on kwok nodes. Missing
    references fail a Run after 3 s instead of 60 (the tests create objects in order); 3 finished Runs without
    a Job are kept per namespace (no test of this tier reads an older one). Its metrics port is
    `kwok_operator.env["KASSET_METRICS_PORT"]`, its webhook port `KASSET_WEBHOOK_PORT`, on 127.0.0.1, which is the URL container Sensors' sources
    are given (their pods on kwok nodes never run)."""
    port, webhook_port = free_port(), free_port()
    yield from _operator(cluster, tmp_path_factory, pattern="it-*", node_kind="kwok",
                         env={"KASSET_MISSING_REFERENCE_GRACE_SECONDS": str(MISSING_REFERENCE_GRACE_SECONDS),
                              "KASSET_SUCCESSFUL_RUNS_HISTORY_LIMIT": "3",
                              "KASSET_METRICS_PORT": str(port), "KASSET_METRICS_BIND_ADDRESS": "127.0.0.1",
                              "KASSET_WEBHOOK_PORT": str(webhook_port),
                              "KASSET_SENSOR_BASE_URL": f"http://127.0.0.1:{webhook_port}"})


@pytest.fixture(scope="session")
def operator(cluster: ClusterInfo, crds, tmp_path_factory):
    """The operator for the e2e tier: watches `e2e-*` namespaces, step pods on the real node."""
    if not cluster.real_node:
        pytest.skip(f"no real node on this cluster: {cluster.real_node_skip_reason}")
    yield from _operator(cluster, tmp_path_factory, pattern="e2e-*", node_kind="real")


@pytest.fixture
def real_node(cluster: ClusterInfo) -> str:
    """The name of the real (kubelet + containerd) node; skips with the reason when there is none."""
    if not cluster.real_node:
        pytest.skip(f"no real node on this cluster: {cluster.real_node_skip_reason}")
    return cluster.real_node


_SKIPPED_E2E: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "/e2e/" in f"/{report.nodeid}":
        _SKIPPED_E2E.append(f"{report.nodeid}: {report.longrepr[-1] if isinstance(report.longrepr, tuple) else ''}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI (CI=true) a skipped e2e test fails the run: containers that never ran prove nothing."""
    if os.environ.get("CI") == "true" and _SKIPPED_E2E:
        print("\nCI=true and e2e tests were skipped (a skipped real-pod tier is a failure in CI):")
        for line in _SKIPPED_E2E:
            print(f"  {line}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def aws_servers(tmp_path_factory: pytest.TempPathFactory):
    """Real SQS (ElasticMQ) and S3 (S3Proxy) servers on 0.0.0.0 for the session, reachable from the real node."""
    from support.awsservers import session_aws_servers

    yield from session_aws_servers(Path(tmp_path_factory.mktemp("aws-servers")))
