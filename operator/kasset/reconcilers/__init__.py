"""Reconcilers, one module per kind: read the watch-fed cache → plan (pure, `kasset.planning`) → write
through the API → enqueue what the change affects.

Level-based and idempotent: each call works from the cache's current state, so it may be called any number
of times, from any trigger (the object's own event, a child Job's event, an upstream's facts changing, the
safety-net timer). The work queue never gives the same object to two workers at once.
"""

from kasset.reconcilers.asset import reconcile_asset
from kasset.reconcilers.backfill import reconcile_backfill
from kasset.reconcilers.job import reconcile_job
from kasset.reconcilers.run import reconcile_run
from kasset.reconcilers.runtime import Runtime
from kasset.reconcilers.schedule import reconcile_schedule
from kasset.reconcilers.sensor import reconcile_sensor

__all__ = ["Runtime", "reconcile_asset", "reconcile_backfill", "reconcile_job", "reconcile_run", "reconcile_schedule",
           "reconcile_sensor"]
