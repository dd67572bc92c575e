"""Pydantic models of Kasset's custom resources (group kasset.dev, version v1alpha1) and CRD generation.

The models are the single source of truth: `python -m kasset.api.crd` turns them into `crds/*.yaml` and
`docs/crd-reference.md`. This package imports neither kopf nor the Kubernetes client.
"""

from kasset.api.asset import Asset, AssetDependency, AssetSpec, AssetStatus, LineageEntry, Materialization
from kasset.api.backfill import Backfill, BackfillPartitions, BackfillSpec, BackfillStatus
from kasset.api.base import API_VERSION, GROUP, VERSION, ObjectMeta, to_manifest
from kasset.api.common import AssetSelection, Container, EnvVar, RetryPolicy, Volume, VolumeMount
from kasset.api.conditions import Condition, find_condition, is_condition_true, set_condition
from kasset.api.job import FanOut, Job, JobSpec, JobStatus, Step
from kasset.api.run import JobRef, Run, RunSpec, RunStatus, StepStatus, Trigger

__all__ = [
    "to_manifest",
    "API_VERSION",
    "GROUP",
    "VERSION",
    "Asset",
    "AssetDependency",
    "AssetSelection",
    "AssetSpec",
    "AssetStatus",
    "Backfill",
    "BackfillPartitions",
    "BackfillSpec",
    "BackfillStatus",
    "Condition",
    "Container",
    "EnvVar",
    "FanOut",
    "Job",
    "JobRef",
    "JobSpec",
    "JobStatus",
    "LineageEntry",
    "Materialization",
    "ObjectMeta",
    "RetryPolicy",
    "Run",
    "RunSpec",
    "RunStatus",
    "Step",
    "StepStatus",
    "Trigger",
    "Volume",
    "VolumeMount",
    "find_condition",
    "is_condition_true",
    "set_condition",
]
