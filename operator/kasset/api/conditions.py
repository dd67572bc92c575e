"""Kubernetes-style conditions: the model and pure helpers to read and set them (STYLE lesson 3).

A condition is keyed by `type`. `set_condition` moves `lastTransitionTime` only when `status` flips, so that
"since when" stays true across reconciles; reason, message and observedGeneration are refreshed every time.

Does not: decide which conditions a kind has or what they mean (the planners do), or write them to the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import Field

from kasset.api.base import MESSAGE_MAX_LENGTH, KassetModel, Timestamp, ensure_utc, truncate_message

ConditionStatus = Literal["True", "False", "Unknown"]

#: The reason pattern of metav1.Condition: CamelCase words.
REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"


class Condition(KassetModel):
    """One aspect of the object's state, as in metav1.Condition."""

    type: str = Field(
        description="Kind of condition in CamelCase, for example `Succeeded` or `Stale`; unique in the list.",
        max_length=316,
    )
    status: ConditionStatus = Field(description="Whether the condition holds: True, False or Unknown.")
    reason: str = Field(
        description="Machine-readable CamelCase reason for the last transition or update.",
        max_length=1024,
        pattern=REASON_PATTERN,
    )
    message: str = Field(
        default="",
        description="Human-readable detail, naming the field or object at fault when there is one.",
        max_length=MESSAGE_MAX_LENGTH,
    )
    last_transition_time: Timestamp = Field(description="When `status` last changed (not when it was last set).")
    observed_generation: int | None = Field(
        default=None, description="The `metadata.generation` the condition was computed from.", ge=0
    )


def find_condition(conditions: Sequence[Condition], type_: str) -> Condition | None:
    """Return the condition of type `type_`, or None when it is absent."""
    return next((c for c in conditions if c.type == type_), None)


def is_condition_true(conditions: Sequence[Condition], type_: str) -> bool:
    """True when the condition of type `type_` exists and has status True."""
    found = find_condition(conditions, type_)
    return found is not None and found.status == "True"


def set_condition(
    conditions: Sequence[Condition],
    *,
    type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    now: datetime,
    generation: int | None,
) -> list[Condition]:
    """Return a new list with the condition `type` set; `lastTransitionTime` moves only when status flips.

    The order of existing conditions is kept; a new type is appended. An unchanged condition is kept as it
    is (this runs for every Asset of a namespace on every change).
    """
    message = truncate_message(message) or ""
    now = ensure_utc(now)
    updated: list[Condition] = []
    found = False
    for condition in conditions:
        if condition.type != type:
            updated.append(condition)
            continue
        found = True
        if (condition.status, condition.reason, condition.message, condition.observed_generation) == (
                status, reason, message, generation):
            updated.append(condition)
            continue
        since = condition.last_transition_time if condition.status == status else now
        updated.append(
            condition.model_copy(
                update={
                    "status": status,
                    "reason": reason,
                    "message": message,
                    "last_transition_time": since,
                    "observed_generation": generation,
                }
            )
        )
    if not found:
        updated.append(
            Condition(
                type=type,
                status=status,
                reason=reason,
                message=message,
                last_transition_time=now,
                observed_generation=generation,
            )
        )
    return updated
