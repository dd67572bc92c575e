"""kopf handlers: the only module that uses kopf's decorators. Handlers are thin: parse, reconcile, return None.

Run with `kopf run -m kasset.handlers --all-namespaces` (or `make run`).
"""

from __future__ import annotations

import logging

import kopf

from .settings import Settings

log = logging.getLogger("kasset")


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_) -> None:
    ours = Settings()
    # kopf must not own `status`: its progress and diff-base go into annotations with our prefix
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ours.annotation_prefix)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ours.annotation_prefix, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING
    log.info("Kasset operator ready")
