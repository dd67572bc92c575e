"""Asset checks: data-quality containers that run after each materialization of an asset (per partition),
and the last result of each one as the Asset's status shows it.

A check is a step of the same Run, right after the asset's step: it receives the step contract (KASSET_*), with
KASSET_OUTPUT_URI being the asset's output it checks, and reports `{"passed": bool, "message": ..., "metadata":
{...}}` through its termination message (`kasset.sdk.report_check`). A container that fails counts as a failed
check. `blocking: true` means a failed check stops the asset's downstream steps in that Run.

Does not: plan the check steps (see `kasset.planning.checks`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from kasset.api.base import KassetModel, MicroTimestamp, Timestamp
from kasset.api.common import Container

#: Most checks one asset declares.
MAX_CHECKS = 20
#: Longest check message kept in status.
CHECK_MESSAGE_MAX_LENGTH = 512
#: Largest check metadata (compact JSON) kept in status; larger metadata is replaced by a note.
MAX_CHECK_METADATA_BYTES = 512

CheckOutcome = Literal["Passed", "Failed"]


class AssetCheck(KassetModel):
    """A data-quality check run after each materialization of the asset."""

    name: str = Field(
        description="Name of the check, unique within the asset; the check's step is `<asset>-check-<name>`.",
        min_length=1,
        max_length=40,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    )
    container: Container = Field(
        description="The container that checks the asset's output (KASSET_OUTPUT_URI); it reports passed, a "
        "message and metadata as JSON in its termination message; a failing container is a failed check."
    )
    blocking: bool = Field(
        default=False,
        description="When true, a failed check stops the asset's downstream steps in that Run (they are "
        "Skipped with the check's message) and fails the Run; when false the failure is only recorded.",
    )


class CheckResult(KassetModel):
    """The last result of one check."""

    name: str = Field(description="Name of the check.", max_length=40)
    outcome: CheckOutcome = Field(description="Passed or Failed.")
    message: str | None = Field(
        default=None, description="What the check reported (or why its container failed).",
        max_length=CHECK_MESSAGE_MAX_LENGTH,
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description=f"Plain JSON metadata the check reported (at most {MAX_CHECK_METADATA_BYTES} bytes as JSON).",
    )
    run: str = Field(description="Run in which the check ran.", max_length=253)
    partition: str | None = Field(default=None, description="Partition checked, if any.", max_length=256)
    time: Timestamp = Field(description="When the check finished.")
    start_time: MicroTimestamp | None = Field(
        default=None, description="When the check started; of two results, the later-started one is kept."
    )
