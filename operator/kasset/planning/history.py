"""History limits: which finished Runs of a Job to delete (their step Jobs go with them, by ownership).

Does not: delete anything, or count unfinished Runs (they are never pruned).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from kasset.api.conditions import find_condition
from kasset.api.run import Run
from kasset.api.contract import SUCCEEDED

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def select_runs_to_prune(runs: Sequence[Run], *, successful_limit: int, failed_limit: int) -> list[str]:
    """Names of finished Runs beyond the newest `successful_limit` succeeded and `failed_limit` failed ones."""
    succeeded: list[Run] = []
    failed: list[Run] = []
    for run in runs:
        outcome = find_condition(run.status.conditions, SUCCEEDED)
        if outcome is not None and outcome.status == "True":
            succeeded.append(run)
        elif outcome is not None and outcome.status == "False":
            failed.append(run)
    doomed = _oldest_beyond(succeeded, successful_limit) + _oldest_beyond(failed, failed_limit)
    return sorted(doomed)


def _oldest_beyond(runs: list[Run], limit: int) -> list[str]:
    newest_first = sorted(runs, key=lambda r: (r.status.completion_time or _EPOCH, r.metadata.name), reverse=True)
    return [run.metadata.name for run in newest_first[limit:]]
