"""kopf wiring, and nothing else: kopf hosts the process (signals, logging, its liveness probe); the
controller's own informers, cache and work queue do the watching and reconciling (`kasset.runtime`).

The controller lives in kopf's `memo`, is started by the startup handler — which returns only once every
watch has listed and is streaming, and only then is "Kasset operator ready" logged — and is stopped by the
cleanup handler on SIGTERM, within seconds. kopf itself registers no resource handler, so it writes nothing
to the objects (no finalizers, no annotations, never `status`).

Run with `kopf run --standalone --all-namespaces -m kasset.handlers` (`kasset run`); the namespaces served
are `KASSET_NAMESPACES`.
"""

from __future__ import annotations

import asyncio
import gc
import logging

import kopf

from kasset.runtime.controller import Controller
from kasset.settings import Settings

log = logging.getLogger("kasset")
READY = "Kasset operator ready"


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_) -> None:
    settings.posting.level = logging.WARNING
    settings.scanning.disabled = True  # kopf serves no resource: no CRD or namespace watch (and no RBAC for it)
    controller = Controller(Settings())
    memo.controller = controller
    await asyncio.get_running_loop().run_in_executor(None, controller.start)
    gc.freeze()  # the cache built by the first lists is long-lived: keep it out of every later collection
    log.info("%s: watching %s with %d workers (%s)", READY, ", ".join(controller.scope.patterns) or "all namespaces",
             controller.settings.workers, controller.role)


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_) -> None:
    controller: Controller | None = getattr(memo, "controller", None)
    if controller is not None:
        await asyncio.get_running_loop().run_in_executor(None, controller.stop)
        log.info("Kasset operator stopped")


@kopf.on.probe(id="ready")
def ready(memo: kopf.Memo, **_) -> bool:
    controller: Controller | None = getattr(memo, "controller", None)
    return controller is not None and controller.ready.is_set()
