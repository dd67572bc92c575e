"""What every reconciler needs: the API facade, the settings turned into planner/builder settings, a clock,
and per-object locks so that two triggers for the same object never reconcile it at the same time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from kasset.builders.stepjob import BuildSettings
from kasset.k8s import Kube
from kasset.planning import PlanSettings
from kasset.settings import Settings


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Context:
    kube: Kube
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], datetime] = utcnow
    _locks: dict[tuple[str, str, str], threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

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

    def lock(self, kind: str, namespace: str, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault((kind, namespace, name), threading.Lock())
