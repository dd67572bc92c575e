"""What every reconciler needs: the API facade, the watch-fed cache, the work queue (to enqueue what a change
affects), the metrics, the settings turned into planner/builder settings, and a clock.

Does not: run anything (see `kasset.runtime.controller`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from kasset.builders.stepjob import BuildSettings
from kasset.k8s import Kube
from kasset.metrics import Metrics
from kasset.planning import PlanSettings
from kasset.runtime.cache import Cache
from kasset.runtime.workqueue import WorkQueue
from kasset.settings import Settings


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


#: A work-queue key: (kind, namespace, name), kind being "Asset", "Job", "Run" or "Backfill".
Key = tuple[str, str, str]


@dataclass
class Runtime:
    kube: Kube
    cache: Cache = field(default_factory=Cache)
    queue: WorkQueue = field(default_factory=WorkQueue)
    settings: Settings = field(default_factory=Settings)
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], datetime] = utcnow

    @property
    def plan_settings(self) -> PlanSettings:
        return PlanSettings(
            default_asset_storage=self.settings.default_asset_storage,
            default_step_storage=self.settings.default_step_storage,
            missing_reference_grace_seconds=self.settings.missing_reference_grace_seconds,
        )

    @property
    def build_settings(self) -> BuildSettings:
        s = self.settings
        return BuildSettings(
            node_selector=dict(s.step_node_selector),
            tolerations=tuple(s.step_tolerations),
            pod_annotations=dict(s.step_pod_annotations),
            run_as_user=s.step_run_as_user,
            run_as_group=s.step_run_as_user,
            fs_group=s.step_run_as_user,
        )

    def enqueue(self, kind: str, namespace: str, names) -> None:
        for name in names:
            self.queue.add((kind, namespace, name))
