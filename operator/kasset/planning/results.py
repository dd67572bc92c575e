"""Parse what a step reported through its termination message (the step contract, DESIGN §3).

The message is JSON written by `kasset.sdk.report` (or by hand, in any language):

    {"dataVersion": "v3", "metadata": {"num_records": 12}, "items": ["a.csv", "b.csv"]}
    {"resultRef": "file:///data/x/.kasset-result.json", "dataVersion": "v3", "itemCount": 2000}
    {"passed": false, "message": "3 negative amounts", "metadata": {"negative": 3}}     (a check)
    {"partitionKeys": ["a.csv", "b.csv"]}     (keys for dynamic partitions that name the asset in addedBy)

The parser is tolerant: an empty message is an empty result, and anything unreadable gives a result with
`error` set, never an exception. A failed container's message may be its log tail (FallbackToLogsOnError);
that is read as text by the run planner, not here.

Does not: read `resultRef` targets (the operator never reads step storage).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: What the kubelet keeps of a termination message.
TERMINATION_MESSAGE_LIMIT = 4096


@dataclass(frozen=True)
class StepResult:
    """A step's reported result. `item_count` is set whenever items were reported (inline or by reference)."""

    data_version: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    items: tuple[Any, ...] | None = None
    item_count: int | None = None
    result_ref: str | None = None
    error: str | None = None
    partition_keys: tuple[str, ...] | None = None
    passed: bool | None = None
    message: str | None = None


def parse_step_result(raw: str | None) -> StepResult:
    """Parse a termination message into a `StepResult`; never raises."""
    text = (raw or "").strip()
    if not text:
        return StepResult()
    try:
        document = json.loads(text)
    except ValueError:
        return StepResult(error=f"result is not JSON: {_preview(text)}")
    if not isinstance(document, dict):
        return StepResult(error=f"result is not a JSON object: {_preview(text)}")
    return _read_document(document)


def _read_document(document: dict[str, Any]) -> StepResult:
    errors: list[str] = []
    data_version = document.get("dataVersion")
    if isinstance(data_version, (int, float)) and not isinstance(data_version, bool):
        data_version = str(data_version)
    if data_version is not None and not isinstance(data_version, str):
        errors.append("dataVersion is not a string")
        data_version = None
    metadata = document.get("metadata", {})
    if not isinstance(metadata, dict):
        errors.append("metadata is not an object")
        metadata = {}
    items = document.get("items")
    if items is not None and not isinstance(items, list):
        errors.append("items is not a list")
        items = None
    item_count = document.get("itemCount")
    if item_count is not None and (not isinstance(item_count, int) or isinstance(item_count, bool) or item_count < 0):
        errors.append("itemCount is not a non-negative integer")
        item_count = None
    if items is not None:
        if item_count is not None and item_count != len(items):
            errors.append(f"itemCount {item_count} differs from {len(items)} items; using the items")
        item_count = len(items)
    result_ref = document.get("resultRef")
    if result_ref is not None and not isinstance(result_ref, str):
        errors.append("resultRef is not a string")
        result_ref = None
    partition_keys = document.get("partitionKeys")
    if partition_keys is not None and (not isinstance(partition_keys, list)
                                       or not all(isinstance(key, str) for key in partition_keys)):
        errors.append("partitionKeys is not a list of strings")
        partition_keys = None
    passed, message = document.get("passed"), document.get("message")
    if passed is not None and not isinstance(passed, bool):
        errors.append("passed is not true or false")
        passed = False
    if message is not None and not isinstance(message, str):
        message = json.dumps(message)[:1024]
    return StepResult(
        passed=passed,
        message=message,
        partition_keys=tuple(partition_keys) if partition_keys is not None else None,
        data_version=data_version,
        metadata=metadata,
        items=tuple(items) if items is not None else None,
        item_count=item_count,
        result_ref=result_ref,
        error="; ".join(errors) or None,
    )


def _preview(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
