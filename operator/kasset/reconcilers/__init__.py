"""Reconcilers: observe → plan (pure, `kasset.planning`) → apply → write status, one per kind.

Level-based and idempotent: each call reads the current state from the API, so it may be called any number
of times, from any trigger (create/update/resume, a child Job's event, the safety-net timer).
"""

from kasset.reconcilers.context import Context
from kasset.reconcilers.definitions import reconcile_asset, reconcile_job, reconcile_namespace_definitions
from kasset.reconcilers.run import reconcile_run

__all__ = ["Context", "reconcile_asset", "reconcile_job", "reconcile_namespace_definitions", "reconcile_run"]
