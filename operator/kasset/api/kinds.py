"""The kinds as their CRDs present them: names, printer columns, root CEL rules, and the
openAPIV3Schema assembled from the spec and status models.

Does not: write files (see `crd`) or render documentation (see `crddocs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from kasset.api.asset import Asset, AssetSpec, AssetStatus
from kasset.api.backfill import Backfill, BackfillSpec, BackfillStatus
from kasset.api.job import Job, JobSpec, JobStatus
from kasset.api.partitionslice import PartitionSlice, PartitionSliceSpec, PartitionSliceStatus
from kasset.api.run import Run, RunSpec, RunStatus
from kasset.api.schedule import Schedule, ScheduleSpec, ScheduleStatus
from kasset.api.sensor import Sensor, SensorSpec, SensorStatus
from kasset.api.schema import Schema, build_structural_schema

CATEGORY = "kasset"
#: Run, Backfill and Schedule name what they run in one of two ways.
ONE_TARGET = {
    "rule": "has(self.spec.jobRef) != has(self.spec.selection)",
    "message": "exactly one of spec.jobRef and spec.selection must be set",
}


@dataclass(frozen=True)
class KindInfo:
    """How one kind appears in its CRD besides its schema."""

    kind: type[BaseModel]
    spec: type[BaseModel]
    status: type[BaseModel]
    plural: str
    short_names: tuple[str, ...]
    printer_columns: tuple[dict[str, Any], ...]
    root_validations: tuple[dict[str, str], ...] = field(default=())

    @property
    def name(self) -> str:
        return self.kind.__name__

    @property
    def file_name(self) -> str:
        return f"{self.name.lower()}.yaml"


def condition_path(type_: str, part: str) -> str:
    """JSONPath of one part (status, reason...) of the condition `type_`."""
    return f'.status.conditions[?(@.type=="{type_}")].{part}'


def build_columns(*rows: tuple[str, str, str, str, int]) -> tuple[dict[str, Any], ...]:
    """Printer columns from (name, type, jsonPath, description, priority) rows; Age is appended."""
    rows = (*rows, ("Age", "date", ".metadata.creationTimestamp", "Time since the object was created.", 0))
    columns = []
    for name, type_, path, description, priority in rows:
        column = {"name": name, "type": type_, "jsonPath": path, "description": description}
        columns.append(column | {"priority": priority} if priority else column)
    return tuple(columns)


KINDS: tuple[KindInfo, ...] = (
    KindInfo(
        kind=Asset,
        spec=AssetSpec,
        status=AssetStatus,
        plural="assets",
        short_names=("kas",),
        printer_columns=build_columns(
            ("Materialized", "date", ".status.lastMaterialization.time", "Time since the last materialization.", 0),
            ("Stale", "string", condition_path("Stale", "status"), "Whether the asset is stale (see staleReasons).", 0),
            ("Automation", "string", ".spec.automation", "When the asset materializes by itself.", 0),
            ("Checks", "string", condition_path("ChecksPassed", "status"), "Whether every check passed.", 0),
            ("Partitions", "string", ".status.partitions.materialized", "Materialized partitions.", 1),
            ("Failed", "string", ".status.partitions.failed", "Partitions whose latest attempt failed.", 1),
            ("Data-Version", "string", ".status.lastMaterialization.dataVersion", "Latest dataVersion.", 1),
            ("Run", "string", ".status.lastMaterialization.run", "Run of the latest materialization.", 1),
            ("Check-Message", "string", condition_path("ChecksPassed", "message"), "What the checks said.", 0),
        ),
        root_validations=(
            {
                "rule": "!has(self.spec.deps) || self.spec.deps.all(d, d.asset != self.metadata.name)",
                "message": "spec.deps must not name the asset itself",
            },
        ),
    ),
    KindInfo(
        kind=Job,
        spec=JobSpec,
        status=JobStatus,
        plural="jobs",
        short_names=("kjob",),
        printer_columns=build_columns(
            ("Ready", "string", condition_path("Ready", "status"), "Whether the Job's steps resolve to a DAG.", 0),
            ("Reason", "string", condition_path("Ready", "reason"), "Why the Job is (not) ready.", 1),
            ("Max-Parallel", "integer", ".spec.maxParallelSteps", "Steps of a Run running at once.", 1),
        ),
    ),
    KindInfo(
        kind=Run,
        spec=RunSpec,
        status=RunStatus,
        plural="runs",
        short_names=("krun",),
        printer_columns=build_columns(
            ("Job", "string", ".spec.jobRef.name", "The Job this Run executes.", 0),
            ("State", "string", condition_path("Succeeded", "reason"), "Reason of the Succeeded condition.", 0),
            ("Progress", "string", ".status.progress", "Succeeded steps over all steps.", 0),
            ("Succeeded", "string", condition_path("Succeeded", "status"), "The outcome.", 1),
            ("Partition", "string", ".spec.partition", "Partition being materialized.", 1),
            ("Started", "date", ".status.startTime", "Time since the Run started.", 1),
            ("Completed", "date", ".status.completionTime", "Time since the Run finished.", 1),
        ),
        root_validations=(ONE_TARGET,),
    ),
    KindInfo(
        kind=PartitionSlice,
        spec=PartitionSliceSpec,
        status=PartitionSliceStatus,
        plural="partitionslices",
        short_names=("kps",),
        printer_columns=build_columns(
            ("Asset", "string", ".spec.asset", "The Asset whose partition records the slice holds.", 0),
        ),
    ),
    KindInfo(
        kind=Backfill,
        spec=BackfillSpec,
        status=BackfillStatus,
        plural="backfills",
        short_names=("kbf",),
        printer_columns=build_columns(
            ("Job", "string", ".spec.jobRef.name", "The Job whose assets are backfilled.", 0),
            ("Requested", "integer", ".status.requested", "Partitions the Backfill covers.", 0),
            ("Running", "integer", ".status.running", "Partitions whose latest Run has not finished.", 0),
            ("Succeeded", "integer", ".status.succeeded", "Partitions whose latest Run succeeded.", 0),
            ("Failed", "integer", ".status.failed", "Partitions whose latest Run failed.", 0),
            ("Progress", "string", ".status.progress", "Succeeded partitions over requested ones.", 0),
            ("Complete", "string", condition_path("Complete", "status"), "The outcome.", 0),
            ("Reason", "string", condition_path("Complete", "reason"), "Why it is (not) complete.", 0),
        ),
        root_validations=(ONE_TARGET,),
    ),
    KindInfo(
        kind=Schedule,
        spec=ScheduleSpec,
        status=ScheduleStatus,
        plural="schedules",
        short_names=("ksched",),
        printer_columns=build_columns(
            ("Schedule", "string", ".spec.schedule", "The cron expression.", 0),
            ("Timezone", "string", ".spec.timeZone", "The time zone it is read in.", 0),
            ("Suspend", "boolean", ".spec.suspend", "Whether ticks are suspended.", 0),
            ("Active", "integer", ".status.activeCount", "Unfinished Runs of the Schedule.", 0),
            ("Last Schedule", "date", ".status.lastScheduleTime", "Time since the latest Run was created.", 0),
            ("Next", "string", ".status.nextScheduleTime", "The next tick.", 1),
            ("Ready", "string", condition_path("Ready", "reason"), "Why ticks do (not) run.", 1),
        ),
        root_validations=(ONE_TARGET,),
    ),
    KindInfo(
        kind=Sensor,
        spec=SensorSpec,
        status=SensorStatus,
        plural="sensors",
        short_names=("ksensor",),
        printer_columns=build_columns(
            ("Job", "string", ".spec.jobRef.name", "The Job each event runs.", 0),
            ("Ready", "string", condition_path("Ready", "reason"), "Whether events become Runs.", 0),
            ("Last Event", "date", ".status.lastEventTime", "Time since the latest Run was created.", 0),
            ("Running", "integer", ".status.running", "Runs of the Sensor not finished.", 0),
            ("Succeeded", "integer", ".status.succeeded", "Runs of the Sensor that succeeded (kept).", 0),
            ("Failed", "integer", ".status.failed", "Runs of the Sensor that failed (kept).", 0),
            ("Endpoint", "string", ".status.endpoint", "webhook: the path to POST to.", 1),
        ),
        root_validations=(ONE_TARGET,),
    ),
)


def build_root_schema(info: KindInfo) -> Schema:
    """The openAPIV3Schema of one kind: the envelope, spec and status."""
    schema: Schema = {
        "description": (info.kind.__doc__ or info.name).strip(),
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"description": "Versioned schema of this object: kasset.dev/v1alpha1.", "type": "string"},
            "kind": {"description": f"Kind of this object: {info.name}.", "type": "string"},
            "metadata": {"type": "object"},  # the API server forbids anything else here
            "spec": build_structural_schema(info.spec),
            "status": build_structural_schema(info.status),
        },
    }
    if info.root_validations:
        schema["x-kubernetes-validations"] = [dict(rule) for rule in info.root_validations]
    return schema
