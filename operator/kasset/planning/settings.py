"""Operator-wide defaults the planners need, as one frozen value passed in (never read from the environment
here: the settings module of the operator fills it).

Does not: read environment variables or files.
"""

from __future__ import annotations

from dataclasses import dataclass

from kasset.api.job import DEFAULT_MAX_PARALLEL_STEPS, MAX_STEPS


@dataclass(frozen=True)
class PlanSettings:
    """Defaults and bounds of planning."""

    #: Where an asset writes when its spec has no `storage` (placeholders as in Asset.spec.storage).
    default_asset_storage: str = "file:///var/lib/kasset/{namespace}/assets/{asset}/{partition}"
    #: Where an explicit step writes when its Job has no `storage`.
    default_step_storage: str = "file:///var/lib/kasset/{namespace}/runs/{run}/{step}"
    #: maxParallelSteps of Runs without a Job (ad-hoc selections).
    default_max_parallel_steps: int = DEFAULT_MAX_PARALLEL_STEPS
    #: Most steps in one Run; bigger graphs fail with TooManySteps (keeps Run.status bounded).
    max_steps: int = MAX_STEPS
    #: How long a Run waits for a Job or Asset it names to appear before failing (kubectl apply -f of a
    #: folder may create the Run before the Job), in seconds.
    missing_reference_grace_seconds: float = 60.0
    #: When a Run waits (missing reference, concurrency), how soon to look again, in seconds.
    requeue_seconds: float = 5.0
