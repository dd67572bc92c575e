"""Reconcile the definitions of a namespace: Assets (Materialized/Stale conditions, why stale) and Jobs
(Ready: does the selection resolve to a DAG?). Cheap and idempotent; called when one of them changes and after
a Run records a materialization (upstream news changes downstream staleness)."""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import BaseModel, ValidationError

from kasset.api.asset import Asset
from kasset.api.base import to_manifest
from kasset.api.conditions import set_condition
from kasset.api.job import Job
from kasset.k8s import Conflict, NotFound
from kasset.planning import plan_asset_status, plan_job_status
from kasset.reconcilers.context import Context

log = logging.getLogger("kasset.definitions")
#: plural -> (model, the condition that reports an invalid spec)
KINDS: dict[str, tuple[type[BaseModel], str]] = {"assets": (Asset, "Materialized"), "jobs": (Job, "Ready")}


def load_assets(ctx: Context, namespace: str) -> dict[str, Asset]:
    """Every valid Asset of the namespace by name (an invalid one shows its own InvalidSpec condition)."""
    return parse_assets(ctx.kube.list("assets", namespace))


def parse_assets(raws: list[dict]) -> dict[str, Asset]:
    assets = {}
    for raw in raws:
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
    _reconcile(ctx, "assets", namespace, name)


def reconcile_job(ctx: Context, namespace: str, name: str) -> None:
    _reconcile(ctx, "jobs", namespace, name)


def reconcile_namespace_definitions(ctx: Context, namespace: str) -> None:
    """Re-derive every Asset's and Job's status in the namespace (after a materialization, or a change of an
    Asset that others may depend on): two list calls, then one write per status that changed."""
    raw_assets = ctx.kube.list("assets", namespace)
    assets = parse_assets(raw_assets)
    for raw in raw_assets:
        _settle(ctx, "assets", raw, assets)
    for raw in ctx.kube.list("jobs", namespace):
        _settle(ctx, "jobs", raw, assets)


def _reconcile(ctx: Context, plural: str, namespace: str, name: str) -> None:
    try:
        raw = ctx.kube.get(plural, namespace, name)
    except NotFound:
        return
    _settle(ctx, plural, raw, load_assets(ctx, namespace))


def _settle(ctx: Context, plural: str, raw: dict, assets: dict[str, Asset]) -> None:
    """Plan the status of `raw` (an Asset or a Job, as read) from the namespace's Assets; write it if it
    changed. A spec the models reject (the CRD schema lets little through) gets its outcome condition
    (Materialized, Ready) False with reason InvalidSpec."""
    model, outcome = KINDS[plural]
    meta = raw["metadata"]
    with ctx.lock(plural, meta["namespace"], meta["name"]):
        try:
            obj = model.model_validate(raw)
        except ValidationError as exc:
            _write_if_changed(ctx, plural, raw, invalid_spec_status(raw, exc, now=ctx.clock(), outcome=outcome))
            return
        if plural == "assets":
            status = plan_asset_status(obj, assets, now=ctx.clock())
        else:
            status = plan_job_status(obj, assets, now=ctx.clock(), settings=ctx.plan_settings)
        _write_if_changed(ctx, plural, raw, to_manifest(status))


def _write_if_changed(ctx: Context, plural: str, raw: dict, status: dict) -> None:
    if (raw.get("status") or {}) == status:
        return
    meta = raw["metadata"]
    try:
        ctx.kube.replace_status(plural, raw, status)
    except Conflict:  # a newer version exists; its own event reconciles it again
        log.debug("%s %s/%s changed while reconciling", plural, meta["namespace"], meta["name"])
