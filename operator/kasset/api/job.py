"""The Job kind (`jobs.kasset.dev`): what runs together — an asset selection and/or explicit steps.

A Job is a template: nothing runs until a Run references it. Explicit steps are op-style steps not tied to an
asset; they may depend on each other and on selected assets, and may fan out over the items an upstream step
reported.

Does not: resolve the selection or order the steps (see `kasset.planning.graph`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from kasset.api.base import API_VERSION, KassetModel, ObjectMeta, ObjectName
from kasset.api.common import (
    DNS_LABEL_PATTERN,
    MAX_DEPENDENCIES,
    MAX_VOLUMES,
    AssetSelection,
    Container,
    RetryPolicy,
    Volume,
)
from kasset.api.conditions import Condition
from kasset.api.storage import StorageTemplate

#: Most steps one Run may have (assets plus explicit steps); bounds Run.status.steps (DESIGN §4).
MAX_STEPS = 500
DEFAULT_MAX_PARALLEL_STEPS = 10

StepName = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)]


class FanOut(KassetModel):
    """Run the step once per item that an upstream step reported, as one Indexed Job."""

    from_step: ObjectName = Field(
        description="Step (or asset) whose reported items this step maps over; it becomes a dependency."
    )


class Step(KassetModel):
    """An explicit step: a container run once (or once per item with fanOut) after its dependencies."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.dependsOn) || !(self.name in self.dependsOn)",
                    "message": "steps[].dependsOn must not name the step itself",
                }
            ]
        }
    )

    name: StepName = Field(description="Name of the step, unique among the Job's steps and selected assets.")
    container: Container = Field(description="The container that runs the step.")
    depends_on: list[ObjectName] = Field(
        default_factory=list,
        description="Steps or selected assets that must succeed before this step starts.",
        max_length=MAX_DEPENDENCIES,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    fan_out: FanOut | None = Field(
        default=None, description="Map over the items an upstream step reported: one pod per item."
    )
    retry: RetryPolicy | None = Field(default=None, description="Retries of a failed attempt (per item with fanOut).")
    timeout_seconds: int | None = Field(
        default=None, description="Deadline of the step (all attempts, all items), in seconds.", ge=1
    )
    volumes: list[Volume] = Field(
        default_factory=list,
        description="Pod volumes for the container's volumeMounts.",
        max_length=MAX_VOLUMES,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


class JobSpec(KassetModel):
    """What runs together, and how much of it at once."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.selection) || (has(self.steps) && size(self.steps) > 0)",
                    "message": "spec.selection or spec.steps must be set",
                }
            ]
        }
    )

    selection: AssetSelection | None = Field(default=None, description="Assets to materialize, in dependency order.")
    steps: list[Step] = Field(
        default_factory=list,
        description="Explicit steps, run after their dependsOn steps or assets.",
        max_length=MAX_STEPS,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    storage: StorageTemplate | None = Field(
        default=None,
        description="URI template of where explicit steps write, with {namespace}, {run}, {step} and "
        "{partition} placeholders ({asset} is the step name). The operator default applies when omitted.",
    )
    params_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema of the Run params (draft 2020-12 unless `$schema` names another draft); the "
        "`default` of each top-level property fills in params a Run does not give. Runs whose params do not "
        "validate fail with reason InvalidParams; remote `$ref`s are not fetched.",
    )
    max_parallel_steps: int = Field(
        default=DEFAULT_MAX_PARALLEL_STEPS,
        description="Most steps of one Run running at once; also bounds the pods of a fan-out step.",
        ge=1,
        le=1000,
    )
    max_concurrent_runs: int | None = Field(
        default=None,
        description="Most unfinished Runs of this Job at once; later Runs wait. Unbounded if omitted.",
        ge=1,
    )
    successful_runs_history_limit: int = Field(
        default=10, description="Finished successful Runs kept; older ones are deleted with their Jobs.", ge=0
    )
    failed_runs_history_limit: int = Field(
        default=10, description="Finished failed Runs kept; older ones are deleted with their Jobs.", ge=0
    )


class JobStatus(KassetModel):
    """What the operator observed about the Job."""

    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this status was computed from.", ge=0
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready: the selection resolves and the steps form a DAG.",
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )


class Job(KassetModel):
    """What runs together: an asset selection and/or explicit steps."""

    api_version: Literal["kasset.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["Job"] = "Job"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: JobSpec
    status: JobStatus = Field(default_factory=JobStatus)
