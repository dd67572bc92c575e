"""Write an object's status when it changed, guarded by the resourceVersion it was planned from, and store
the server's answer in the cache (so the next reconcile plans from what was written, not from an older event).

Does not: plan statuses.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from kasset.api.base import API_VERSION, to_manifest
from kasset.api.conditions import Condition, set_condition
from kasset.k8s import Conflict
from kasset.reconcilers.runtime import Runtime
from kasset.runtime.cache import Invalid

log = logging.getLogger("kasset.status")
PUT = {"assets": "put_asset", "jobs": "put_job", "runs": "put_run", "partitionslices": "put_slice",
       "backfills": "put_backfill", "schedules": "put_schedule", "sensors": "put_sensor"}
KIND = {"assets": "Asset", "jobs": "Job", "runs": "Run", "partitionslices": "PartitionSlice", "backfills": "Backfill",
        "schedules": "Schedule", "sensors": "Sensor"}


def write_status(rt: Runtime, plural: str, meta: dict[str, Any], current: dict, status: dict) -> bool:
    """PUT `status` unless it equals `current`; True when written. Conflict is raised to the caller (a newer
    version exists: the watch brings it and the object is reconciled again)."""
    if current == status:
        return False
    body = {"apiVersion": API_VERSION, "kind": KIND[plural], "metadata": meta}
    written = rt.kube.replace_status(plural, body, status)
    getattr(rt.cache.namespace(meta["namespace"]), PUT[plural])(written)
    return True


def model_meta(obj: BaseModel) -> dict[str, Any]:
    meta = obj.metadata  # type: ignore[attr-defined]
    return {"name": meta.name, "namespace": meta.namespace, "resourceVersion": meta.resource_version,
            "uid": meta.uid}


def write_model_status(rt: Runtime, plural: str, obj: BaseModel, status: BaseModel) -> bool:
    try:
        return write_status(rt, plural, model_meta(obj), to_manifest(obj.status), to_manifest(status))  # type: ignore[attr-defined]
    except Conflict:
        log.debug("%s %s changed while reconciling; the watch brings the new version", plural,
                  obj.metadata.name)  # type: ignore[attr-defined]
        return False


def invalid_spec_status(raw: dict, exc: ValidationError, *, now: datetime, outcome: str) -> dict:
    """A status with condition `outcome` False, reason InvalidSpec, naming the first offending field."""
    message = describe_invalid(exc)
    meta = raw.get("metadata") or {}
    existing = []
    for condition in (raw.get("status") or {}).get("conditions") or []:
        try:
            existing.append(Condition.model_validate(condition))
        except ValidationError:
            continue
    conditions = set_condition(existing, type=outcome, status="False", reason="InvalidSpec", message=message,
                               now=now, generation=meta.get("generation"))
    return {"conditions": [to_manifest(c) for c in conditions], "observedGeneration": meta.get("generation")}


def describe_invalid(exc: ValidationError) -> str:
    """`field.path: what is wrong`, for the first error the models found."""
    first = exc.errors()[0]
    return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"


def write_invalid_status(rt: Runtime, plural: str, raw: dict, exc: ValidationError, *, outcome: str) -> None:
    meta = raw["metadata"]
    status = invalid_spec_status(raw, exc, now=rt.clock(), outcome=outcome)
    try:
        write_status(rt, plural, {k: meta.get(k) for k in ("name", "namespace", "resourceVersion", "uid")},
                     raw.get("status") or {}, status)
    except Conflict:
        pass


def find_job(ns, ref) -> tuple[Any, str | None]:
    """(the Job `ref` names, None), (None, why it is invalid), or (None, None) when there is no ref or no Job."""
    found = (ns.jobs.valid.get(ref.name) or ns.jobs.invalid.get(ref.name)) if ref is not None else None
    if isinstance(found, Invalid):  # kept aside: the models rejected its spec
        return None, describe_invalid(found.error)
    return found, None


def valid_or_reported(rt: Runtime, plural: str, kind, name: str, *, outcome: str):
    """The parsed object `name` of a cached kind; None when it is gone, or invalid — then its status gets
    `outcome` False with reason InvalidSpec, naming the field."""
    found = kind.valid.get(name)
    if found is None and (invalid := kind.invalid.get(name)) is not None:
        write_invalid_status(rt, plural, invalid.raw, invalid.error, outcome=outcome)
    return found
