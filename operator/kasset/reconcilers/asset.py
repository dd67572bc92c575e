"""Reconcile one Asset: derive its facts from its direct upstreams' facts (O(deps), from the cache), write its
status when it changed, and — only when its facts changed — enqueue what depends on them: its dependants, the
Jobs that select it, and Runs waiting for a reference.

An Asset whose upstream has no facts yet (or facts blaming an asset that exists by now) forgets its own and
waits: that upstream is queued and enqueues it when derived. Unless the assets without facts reachable from
it form a cycle: then it gets DependencyCycle.

Does not: record materializations (the Run reconciler does, see `run`).
"""

from __future__ import annotations

import logging

from kasset.planning import derive_asset_facts, find_pending_cycle, plan_asset_status
from kasset.planning.catalog import cycle_facts
from kasset.planning.checks import with_checks_passed
from kasset.planning.partitionautomation import plan_partition_eager_runs
from kasset.planning.partitionstate import summarize_asset, with_latest_materialization, with_partition_summary
from kasset.reconcilers.requests import request_runs
from kasset.reconcilers.runtime import Runtime
from kasset.reconcilers.status import valid_or_reported, write_model_status

log = logging.getLogger("kasset.asset")


def reconcile_asset(rt: Runtime, namespace: str, name: str) -> float | None:
    ns = rt.cache.namespace(namespace)
    held = valid_or_reported(rt, "assets", ns.assets, name, outcome="Materialized")
    if held is None:
        _announce(rt, namespace, name, changed=ns.set_facts(name, None))
        return None
    asset = with_latest_materialization(held, records=ns.records_of)  # partitioned: from its records
    facts = derive_asset_facts(asset, ns)
    if facts is None:
        # Facts this asset held are outdated: forget them, so none of its dependants builds on them.
        _announce(rt, namespace, name, changed=ns.set_facts(name, None))
        if any(rt.queue.is_pending(("Asset", namespace, dep.asset)) for dep in asset.spec.deps):
            return None  # an upstream is queued: it enqueues this asset once derived
        cycle = find_pending_cycle(name, ns)
        if cycle is None:
            return None  # an upstream is being derived right now by another worker
        facts = cycle_facts(asset, cycle)
    now = rt.clock()
    status = plan_asset_status(asset, ns, now=now, facts=facts)
    summary = summarize_asset(asset, records=ns.records_of, assets=ns, now=now)
    status = with_partition_summary(status, summary, generation=asset.metadata.generation, now=now)
    status = with_checks_passed(asset, status, now=now)
    if write_model_status(rt, "assets", held, status) and asset is not held:
        log.info("Recorded materialization of Asset %s/%s by Run %s (partition %s)", namespace, name,
                 status.last_materialization.run, status.last_materialization.partition)
    if facts.problem is None:
        request_runs(rt, ns, plan_partition_eager_runs(asset, assets=ns, records=ns.records_of, now=now),
                     cause=f"Asset {name}")
    _announce(rt, namespace, name, changed=ns.set_facts(name, facts))
    return None


def _announce(rt: Runtime, namespace: str, name: str, *, changed: bool) -> None:
    if not changed:
        return
    ns = rt.cache.namespace(namespace)
    rt.enqueue("Asset", namespace, ns.dependants(name))
    rt.enqueue("Job", namespace, ns.jobs_selecting(name))
    rt.enqueue("Run", namespace, ns.waiting_runs())
