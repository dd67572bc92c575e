"""Models shared by several kinds: the step container, volumes, retry policy and asset selection.

The container is a deliberately small subset of the core/v1 Container: what a data step needs. Volumes and
`envFrom` entries are passed through to the pod unchanged (their schema is Kubernetes' own, not repeated here).

Does not: build pod manifests (see `kasset.builders`) or resolve selections (see `kasset.planning.graph`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from kasset.api.base import NAME_MAX_LENGTH, KassetModel, ObjectName

#: Environment variables with this prefix belong to the step contract and are set by the operator.
RESERVED_ENV_PREFIX = "KASSET_"
MAX_ENV = 100
MAX_VOLUMES = 50
MAX_DEPENDENCIES = 100
MAX_SELECTED_ASSETS = 500

DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
QuantityMap = dict[str, int | str]


class EnvVar(KassetModel):
    """An environment variable for the step container."""

    name: str = Field(description="Name of the variable; names starting with KASSET_ are reserved.", max_length=253)
    value: str | None = Field(default=None, description="Literal value.", max_length=32768)
    value_from: dict[str, Any] | None = Field(
        default=None,
        description="Source of the value (secretKeyRef, configMapKeyRef, fieldRef...), as in a core/v1 EnvVar.",
    )


class ResourceRequirements(KassetModel):
    """Compute resources of the step container, as in core/v1 ResourceRequirements."""

    requests: QuantityMap | None = Field(
        default=None, description="Minimum resources the step needs, for example `cpu: 100m`, `memory: 64Mi`."
    )
    limits: QuantityMap | None = Field(default=None, description="Maximum resources the step may use.")


class VolumeMount(KassetModel):
    """Where a pod volume appears in the step container."""

    name: str = Field(description="Name of a volume listed in `volumes`.", max_length=NAME_MAX_LENGTH)
    mount_path: str = Field(description="Absolute path in the container.", max_length=4096)
    sub_path: str | None = Field(default=None, description="Sub-path of the volume to mount.", max_length=4096)
    read_only: bool | None = Field(default=None, description="Mount read-only.")


class Volume(KassetModel):
    """A pod volume, passed through unchanged (hostPath, persistentVolumeClaim, emptyDir, configMap...)."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(description="Name the volume mounts refer to.", max_length=63)


class PodMetadata(KassetModel):
    """Labels and annotations added to a step's pods (log collectors, cost allocation, policy engines)."""

    labels: dict[str, str] | None = Field(
        default=None, description="Extra pod labels; the operator's own kasset.dev/ labels take precedence."
    )
    annotations: dict[str, str] | None = Field(
        default=None, description="Extra pod annotations; the operator's own take precedence."
    )


class Container(KassetModel):
    """The container that runs a step. It receives the step contract as KASSET_* environment variables."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.env) || self.env.all(e, !e.name.startsWith('KASSET_'))",
                    "message": "container.env must not set KASSET_* variables: the operator sets the step contract",
                }
            ]
        }
    )

    image: str = Field(description="Container image reference.", min_length=1, max_length=1024)
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        default=None, description="When to pull the image; `Never` for images imported into the node."
    )
    command: list[str] | None = Field(default=None, description="Entrypoint; the image's when omitted.")
    args: list[str] | None = Field(default=None, description="Arguments to the entrypoint.")
    env: list[EnvVar] | None = Field(
        default=None,
        description="Extra environment variables (the KASSET_* step contract is added by the operator).",
        max_length=MAX_ENV,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    env_from: list[dict[str, Any]] | None = Field(
        default=None,
        description="Sources of environment variables (configMapRef, secretRef), as in a core/v1 Container.",
        max_length=MAX_ENV,
    )
    resources: ResourceRequirements | None = Field(default=None, description="Compute resources.")
    volume_mounts: list[VolumeMount] | None = Field(
        default=None,
        description="Volumes to mount into the container; the volumes themselves are listed in `volumes`.",
        max_length=MAX_VOLUMES,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["mountPath"]},
    )
    service_account_name: str | None = Field(
        default=None,
        description="Service account of the pod; its token is mounted only when this is set.",
        max_length=NAME_MAX_LENGTH,
    )
    pod_metadata: PodMetadata | None = Field(
        default=None, description="Labels and annotations added to the step's pods."
    )


class RetryPolicy(KassetModel):
    """How often a failed step is retried. The batch/v1 Job retries it (backoffLimit), with the Job
    controller's exponential delay (10s, 20s, 40s... capped at 6 minutes)."""

    limit: int = Field(default=0, description="Retries after the first failed attempt (0: no retry).", ge=0, le=100)


class AssetSelection(KassetModel):
    """A set of assets by name, optionally grown with everything upstream and/or downstream of them."""

    assets: list[ObjectName] = Field(
        description="Names of Assets in the same namespace.",
        min_length=1,
        max_length=MAX_SELECTED_ASSETS,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    upstream: bool = Field(default=False, description="Also select every asset the named ones depend on.")
    downstream: bool = Field(default=False, description="Also select every asset that depends on the named ones.")
