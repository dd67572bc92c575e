"""kopf handlers: the only module that uses kopf's decorators. Each is thin: find the object, call its
reconciler, return None (kopf must not write handler results into `status`).

Triggers of a Run's reconcile: its own create/update/resume, every event of a step Job it owns (so a finished
step advances its Run at once), a requeue when the planner waits for something no watch announces, and a
slow safety-net loop over the unfinished Runs.

Run with `kopf run --standalone -m kasset.handlers --all-namespaces` (`make run`).
"""

from __future__ import annotations

import asyncio
import logging

import kopf

from kasset.k8s import ApiError, Kube, connect
from kasset.reconcilers import (
    Context, reconcile_asset, reconcile_job, reconcile_namespace_definitions, reconcile_run,
)
from kasset.settings import Settings

GROUP, VERSION = "kasset.dev", "v1alpha1"
MANAGED_STEP_JOBS = {"app.kubernetes.io/managed-by": "kasset"}
API_RETRY_SECONDS = 2.0
log = logging.getLogger("kasset")
SETTINGS = Settings()
_state: dict[str, object] = {}
_unfinished: set[tuple[str, str]] = set()


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **_) -> None:
    # kopf must not own `status`: its progress and diff-base go into annotations with our prefix
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=SETTINGS.annotation_prefix)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=SETTINGS.annotation_prefix, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING
    settings.execution.max_workers = SETTINGS.workers
    _state["loop"] = asyncio.get_running_loop()
    _state["ctx"] = Context(kube=Kube(connect()), settings=SETTINGS)
    _state["safety_net"] = asyncio.create_task(_safety_net())
    log.info("Kasset operator ready")


def _ctx() -> Context:
    return _state["ctx"]  # type: ignore[return-value]


def _run(namespace: str, name: str) -> None:
    try:
        delay = reconcile_run(_ctx(), namespace, name)
    except ApiError as exc:  # temporary by definition: look again soon rather than after kopf's backoff
        log.warning("Reconcile of Run %s/%s failed, retrying in %ss: %s", namespace, name, API_RETRY_SECONDS, exc)
        delay = API_RETRY_SECONDS
    if delay:
        _requeue(delay, namespace, name)


def _requeue(delay: float, namespace: str, name: str) -> None:
    loop: asyncio.AbstractEventLoop = _state["loop"]  # type: ignore[assignment]

    def fire() -> None:
        loop.run_in_executor(None, _run, namespace, name)

    loop.call_soon_threadsafe(loop.call_later, delay, fire)


@kopf.on.resume(GROUP, VERSION, "runs")
@kopf.on.create(GROUP, VERSION, "runs")
@kopf.on.update(GROUP, VERSION, "runs")
def run_changed(namespace: str, name: str, **_) -> None:
    _run(namespace, name)


@kopf.on.event("batch", "v1", "jobs", labels=MANAGED_STEP_JOBS)
def step_job_changed(body: kopf.Body, namespace: str, **_) -> None:
    for ref in body.metadata.get("ownerReferences") or []:
        if ref.get("kind") == "Run" and ref.get("apiVersion", "").startswith(f"{GROUP}/"):
            _run(namespace, ref["name"])


@kopf.on.event(GROUP, VERSION, "runs")
def run_seen(event: kopf.RawEvent, body: kopf.Body, namespace: str, name: str, **_) -> None:
    """Track unfinished Runs for the safety net. (A kopf timer would put a finalizer on every Run, and Runs
    could then not be deleted while the operator is down.)"""
    outcome = next((c for c in body.get("status", {}).get("conditions") or [] if c.get("type") == "Succeeded"), None)
    finished = outcome is not None and outcome.get("status") in ("True", "False")
    if event.get("type") == "DELETED" or finished:
        _unfinished.discard((namespace, name))
    else:
        _unfinished.add((namespace, name))


async def _safety_net() -> None:
    """Every `safety_timer_seconds`, reconcile each unfinished Run once: a missed event costs a delay, not a Run."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(SETTINGS.safety_timer_seconds)
        for namespace, name in sorted(_unfinished):
            loop.run_in_executor(None, _run, namespace, name)


@kopf.on.resume(GROUP, VERSION, "assets")
def asset_resumed(namespace: str, name: str, **_) -> None:
    reconcile_asset(_ctx(), namespace, name)


@kopf.on.create(GROUP, VERSION, "assets")
@kopf.on.update(GROUP, VERSION, "assets")
@kopf.on.delete(GROUP, VERSION, "assets", optional=True)
def asset_changed(namespace: str, name: str, **_) -> None:
    # this Asset, and its dependants' staleness and Jobs' Ready, which may change with it
    reconcile_namespace_definitions(_ctx(), namespace)


@kopf.on.resume(GROUP, VERSION, "jobs")
@kopf.on.create(GROUP, VERSION, "jobs")
@kopf.on.update(GROUP, VERSION, "jobs")
def job_changed(namespace: str, name: str, **_) -> None:
    reconcile_job(_ctx(), namespace, name)
