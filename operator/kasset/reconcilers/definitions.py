"""Reconcile the definitions of a namespace: Assets (Materialized/Stale conditions, why stale) and Jobs
(Ready: does the selection resolve to a DAG?). Cheap and idempotent; called when one of them changes and after
a Run records a materialization (upstream news changes downstream staleness)."""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import ValidationError

from kasset.api.asset import Asset
from kasset.api.base import to_manifest
from kasset.api.conditions import set_condition
from kasset.api.job import Job
from kasset.k8s import Conflict, NotFound
from kasset.planning import plan_asset_status, plan_job_status
from kasset.reconcilers.context import Context

log = logging.getLogger("kasset.definitions")


def load_assets(ctx: Context, namespace: str) -> dict[str, Asset]:
    """Every valid Asset of the namespace by name (an invalid one shows its own InvalidSpec condition)."""
    assets = {}
    for raw in ctx.kube.list("assets", namespace):
        try:
            asset = Asset.model_validate(raw)
        except ValidationError:
            continue
        assets[asset.metadata.name] = asset
    return assets


def invalid_spec_status(raw: dict, exc: ValidationError, *, now: datetime, outcome: str) -> dict:
    """A status with condition `outcome` False, reason InvalidSpec, naming the first offending field."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    message = f"{field}: {first['msg']}"
    meta = raw.get("metadata") or {}
    conditions = set_condition([], type=outcome, status="False", reason="InvalidSpec", message=message,
                               now=now, generation=meta.get("generation"))
    return {"conditions": [to_manifest(c) for c in conditions], "observedGeneration": meta.get("generation")}


def reconcile_asset(ctx: Context, namespace: str, name: str) -> None:
    with ctx.lock("Asset", namespace, name):
        try:
            raw = ctx.kube.get("assets", namespace, name)
        except NotFound:
            return
        try:
            asset = Asset.model_validate(raw)
        except ValidationError as exc:
            ctx.kube.replace_status("assets", raw, invalid_spec_status(raw, exc, now=ctx.clock(),
                                                                       outcome="Materialized"))
            return
        status = to_manifest(plan_asset_status(asset, load_assets(ctx, namespace), now=ctx.clock()))
        _write_if_changed(ctx, "assets", raw, status)


def reconcile_job(ctx: Context, namespace: str, name: str) -> None:
    with ctx.lock("Job", namespace, name):
        try:
            raw = ctx.kube.get("jobs", namespace, name)
        except NotFound:
            return
        try:
            job = Job.model_validate(raw)
        except ValidationError as exc:
            ctx.kube.replace_status("jobs", raw, invalid_spec_status(raw, exc, now=ctx.clock(), outcome="Ready"))
            return
        status = to_manifest(plan_job_status(job, load_assets(ctx, namespace), now=ctx.clock(),
                                             settings=ctx.plan_settings))
        _write_if_changed(ctx, "jobs", raw, status)


def reconcile_namespace_definitions(ctx: Context, namespace: str) -> None:
    """Re-derive every Asset's and Job's status in the namespace (after a materialization)."""
    for raw in ctx.kube.list("assets", namespace):
        reconcile_asset(ctx, namespace, raw["metadata"]["name"])
    for raw in ctx.kube.list("jobs", namespace):
        reconcile_job(ctx, namespace, raw["metadata"]["name"])


def _write_if_changed(ctx: Context, plural: str, raw: dict, status: dict) -> None:
    if (raw.get("status") or {}) == status:
        return
    meta = raw["metadata"]
    try:
        ctx.kube.replace_status(plural, raw, status)
    except Conflict:  # a newer version exists; its own event reconciles it again
        log.debug("%s %s/%s changed while reconciling", plural, meta["namespace"], meta["name"])
