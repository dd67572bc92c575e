"""Shared pieces of the Kasset API models: the camelCase base model, object metadata and timestamps.

Python code uses snake_case attributes; manifests and the CRD schema use camelCase (the Kubernetes convention)
through pydantic aliases. Models are frozen: planners build new objects with `model_copy(update=...)`.

Does not: define a resource kind (see `asset`, `job`, `run`) or produce CRD YAML (see `crd`).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

GROUP = "kasset.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

#: Longest name Kubernetes accepts for a namespaced object (DNS-1123 subdomain).
NAME_MAX_LENGTH = 253
#: Bound for free-text messages kept in status, so that status stays small (DESIGN §4).
MESSAGE_MAX_LENGTH = 1024
#: Longest dataVersion kept in status; longer reported versions are kept as their SHA-256 (71 characters).
DATA_VERSION_MAX_LENGTH = 128
#: Longest resultRef kept in status; a step reporting a longer URI is told so.
RESULT_REF_MAX_LENGTH = 512


def ensure_utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime (naive values are taken to be UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def format_timestamp(value: datetime) -> str:
    """Format like Kubernetes' metav1.Time: RFC 3339, UTC, whole seconds."""
    return ensure_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


#: A point in time, serialized as RFC 3339 in UTC (`2026-01-02T03:04:05Z`).
Timestamp = Annotated[
    datetime,
    AfterValidator(ensure_utc),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
]


def format_micro_timestamp(value: datetime) -> str:
    """Format like Kubernetes' metav1.MicroTime: RFC 3339, UTC, microseconds."""
    return ensure_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


#: A point in time to the microsecond (metav1.MicroTime), for ordering events within one second.
MicroTimestamp = Annotated[
    datetime,
    AfterValidator(ensure_utc),
    PlainSerializer(format_micro_timestamp, return_type=str, when_used="json"),
]


#: The name of an object in the same namespace.
ObjectName = Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH)]

#: A bounded line of text kept in status.
MessageLine = Annotated[str, Field(max_length=MESSAGE_MAX_LENGTH)]


class KassetModel(BaseModel):
    """Base of every API model: camelCase aliases, snake_case attributes, unknown fields ignored.

    Unknown fields are ignored rather than rejected so that the operator can read objects written by a newer
    version; the API server prunes fields the CRD schema does not know anyway.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
        frozen=True,
    )


class ObjectMeta(KassetModel):
    """The part of Kubernetes object metadata the operator reads (not part of the CRD schema)."""

    name: str = ""
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    creation_timestamp: Timestamp | None = None
    deletion_timestamp: Timestamp | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


def to_manifest(model: BaseModel) -> dict[str, Any]:
    """Dump a model the way it is written to the API: camelCase, JSON types, no `null` fields."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def truncate_message(message: str | None, limit: int = MESSAGE_MAX_LENGTH) -> str | None:
    """Cut `message` to `limit` characters, marking the cut, so that status stays bounded."""
    if message is None or len(message) <= limit:
        return message
    return message[: limit - 3] + "..."


def json_size(value: Any) -> int:
    """Bytes of `value` as compact JSON, the way size limits of status are measured (ASCII-escaped)."""
    return len(json.dumps(value, separators=(",", ":")))
