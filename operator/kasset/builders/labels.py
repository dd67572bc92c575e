"""Labels and annotations that tie step Jobs and pods to their Run, step, asset and partition.

Label values must be at most 63 characters of a restricted alphabet; values that do not fit are sanitized
(see `kasset.planning.names.sanitize_label_value`) and the exact value is kept in an annotation.

Does not: choose names of objects (see `kasset.planning.names`).
"""

from __future__ import annotations

from kasset.api.contract import (  # re-exported: builders look here
    ANNOTATION_ASSET,
    ANNOTATION_PARTITION,
    ANNOTATION_RUN,
    ANNOTATION_STEP,
    LABEL_ASSET,
    LABEL_MANAGED_BY,
    LABEL_PARTITION,
    LABEL_RUN,
    LABEL_CHECK,
    LABEL_STEP,
    MANAGED_BY,
)
from kasset.planning.names import sanitize_label_value


def build_step_labels(
    *, run: str, step: str, asset: str | None, partition: str | None, check: str | None = None
) -> dict[str, str]:
    """Labels of a step Job and its pods (asset, partition and check only when they apply)."""
    labels = {
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_RUN: sanitize_label_value(run),
        LABEL_STEP: sanitize_label_value(step),
    }
    if asset is not None:
        labels[LABEL_ASSET] = sanitize_label_value(asset)
    if partition is not None:
        labels[LABEL_PARTITION] = sanitize_label_value(partition)
    if check is not None:
        labels[LABEL_CHECK] = sanitize_label_value(check)
    return labels


def build_step_annotations(*, run: str, step: str, asset: str | None, partition: str | None) -> dict[str, str]:
    """The exact (unsanitized) values behind the labels."""
    annotations = {ANNOTATION_RUN: run, ANNOTATION_STEP: step}
    if asset is not None:
        annotations[ANNOTATION_ASSET] = asset
    if partition is not None:
        annotations[ANNOTATION_PARTITION] = partition
    return annotations


def select_run_jobs(run: str) -> str:
    """Label selector of every step Job of Run `run`."""
    return f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_RUN}={sanitize_label_value(run)}"
