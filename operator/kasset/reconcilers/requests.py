"""Create the Runs that automation requested. A request's name derives from its runKey, so creating it again
answers 409 and changes nothing: one key, one Run, across retries and restarts.

Does not: decide which Runs to request (see `kasset.planning.automation` and `partitionautomation`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kasset.api.base import API_VERSION, to_manifest
from kasset.planning import RunRequest
from kasset.reconcilers.runtime import Runtime
from kasset.runtime.cache import NamespaceCache

log = logging.getLogger("kasset.automation")


def run_manifest(request: RunRequest) -> dict:
    """The Run object a request creates."""
    return {"apiVersion": API_VERSION, "kind": "Run",
            "metadata": {"name": request.name, "labels": request.labels, "annotations": request.annotations},
            "spec": to_manifest(request.spec)}


def request_runs(rt: Runtime, ns: NamespaceCache, requests: Iterable[RunRequest], *, cause: str) -> None:
    for request in requests:
        if ns.runs.valid.get(request.name) is not None or request.name in ns.runs.invalid:
            continue  # requested before: the cache holds it
        _, created = rt.kube.create("runs", ns.name, run_manifest(request))
        if created:
            log.info("Created Run %s/%s (automation after %s)", ns.name, request.name, cause)
