"""Plan an Asset's status from its derived facts: `DependenciesResolved`, `Materialized`, `Stale` with
`staleReasons`; and decide whether a new materialization replaces the one recorded.

Newer always wins: a materialization replaces the recorded one only when its step started later (it read newer
inputs and code; finish time when no start is known; ties broken by run name), so an older Run finishing
late, or a retried reconcile, never overwrites a newer record; recording the same Run's materialization
again is a no-op (exactly once across conflicts, retries and restarts).

Does not: derive facts (see `catalog`) or write status (the reconcilers do).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from kasset.api.asset import Asset, AssetStatus, Materialization
from kasset.api.base import format_timestamp
from kasset.api.conditions import set_condition
from kasset.api.contract import DEPENDENCIES_RESOLVED, MATERIALIZED, STALE
from kasset.planning.catalog import AssetCatalog, AssetFacts, as_catalog, derive_asset_facts


def plan_asset_status(
    asset: Asset, assets: Mapping[str, Asset] | AssetCatalog, *, now: datetime, facts: AssetFacts | None = None
) -> AssetStatus:
    """The Asset's new status (conditions, staleReasons, observedGeneration), lastMaterialization unchanged.
    `facts` defaults to those derived from `assets` (a catalog, or a mapping of the namespace's Assets)."""
    if facts is None:
        catalog = as_catalog(assets)
        facts = derive_asset_facts(asset, catalog) or catalog.facts(asset.metadata.name)
    assert facts is not None, "facts of an asset whose upstreams are all derived"
    generation = asset.metadata.generation

    def with_condition(conditions, type_: str, status: str, reason: str, message: str):
        return set_condition(conditions, type=type_, status=status, reason=reason, message=message, now=now,
                             generation=generation)

    conditions = list(asset.status.conditions)
    if facts.problem is None:
        conditions = with_condition(conditions, DEPENDENCIES_RESOLVED, "True", "Resolved",
                                    "every upstream asset exists")
    else:
        conditions = with_condition(conditions, DEPENDENCIES_RESOLVED, "False", facts.problem.reason,
                                    facts.problem.message)
    last = asset.status.last_materialization
    if last is None:
        conditions = with_condition(conditions, MATERIALIZED, "False", "NeverMaterialized",
                                    "no Run has materialized the asset yet")
    else:
        conditions = with_condition(conditions, MATERIALIZED, "True", "Materialized",
                                    f"materialized by run {last.run} at {format_timestamp(last.time)}")
    staleness = facts.staleness
    conditions = with_condition(conditions, STALE, "True" if staleness.stale else "False", staleness.reason,
                                staleness.message)
    return asset.status.model_copy(
        update={"conditions": conditions, "observed_generation": generation, "stale_reasons": list(staleness.reasons)}
    )


def supersedes(new: Materialization, old: Materialization | None) -> bool:
    """Whether `new` replaces the recorded `old`: its step started later (ties: the greater run name). The
    same Run's record never replaces itself."""
    if old is None:
        return True
    if (new.run, new.partition) == (old.run, old.partition):
        return False
    return (new.start_time or new.time, new.run) > (old.start_time or old.time, old.run)


def apply_materialization(
    asset: Asset, materialization: Materialization, assets: Mapping[str, Asset] | AssetCatalog, *, now: datetime
) -> AssetStatus | None:
    """The Asset's status with `materialization` recorded and its conditions recomputed (one status write), or
    None when it must not be recorded (already recorded, or a newer one is)."""
    if not supersedes(materialization, asset.status.last_materialization):
        return None
    status = asset.status.model_copy(update={"last_materialization": materialization})
    updated = asset.model_copy(update={"status": status})
    catalog = as_catalog(assets)
    facts = derive_asset_facts(updated, catalog)
    if facts is None:  # an upstream is still being derived: keep the conditions, record the materialization
        return status
    return plan_asset_status(updated, catalog, now=now, facts=facts)
