"""Chaos: the first lists do not arrive in time. The controller gives back its ports and watches, so the retry
(kopf retries its startup handler with a new controller) binds them again and becomes ready, instead of failing
to bind for ever while the old /healthz keeps answering 200."""

from __future__ import annotations

import pytest

from kasset.k8s.client import Kube, connect
from kasset.runtime.controller import Controller
from kasset.settings import Settings
from support.operator import free_port


def controller(cluster, *, sync_timeout: float, ports: tuple[int, int]) -> Controller:
    settings = Settings(sync_timeout_seconds=sync_timeout, metrics_port=ports[0], webhook_port=ports[1],
                        metrics_bind_address="127.0.0.1", namespaces=["it-startup-none"], workers=1)
    return Controller(settings, kube=Kube(connect(str(cluster.kubeconfig))))


def test_a_start_that_times_out_frees_its_ports_and_watches_and_the_retry_becomes_ready(cluster, crds):
    ports = (free_port(), free_port())
    first = controller(cluster, sync_timeout=0.0, ports=ports)
    with pytest.raises(TimeoutError, match="did not arrive within"):
        first.start()
    for informer in first.informers:
        informer.join(5)
        assert not informer._thread.is_alive(), informer.resource.plural
    retry = controller(cluster, sync_timeout=60, ports=ports)
    try:
        retry.start()  # binds the same two ports
        assert retry.ready.is_set()
    finally:
        retry.stop()
