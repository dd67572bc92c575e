"""Build the batch/v1 Job that runs one step of a Run.

The Job has the deterministic name chosen by the planner, is owned by the Run (controller owner reference,
so deleting the Run deletes it), carries run/step/asset/partition labels, and meets the `restricted` Pod
Security profile. Retries are the Job's own: `backoffLimit = retry.limit` (per index for fan-out, with
`backoffLimitPerIndex`), and `activeDeadlineSeconds = timeoutSeconds`. `ttlSecondsAfterFinished` is not set:
the Run owns its Jobs and history limits prune Runs.

User IDs: the restricted profile requires `runAsNonRoot`; images built FROM a Debian base run as root unless
told otherwise, so pods run as 65532:65532 (the "nonroot" user of distroless images) by default. Set
`BuildSettings.run_as_user=None` to use the image's own non-root USER.

Does not: decide what to launch (see `kasset.planning.run`) or talk to the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kasset.api.base import API_VERSION, to_manifest
from kasset.api.common import Container
from kasset.api.run import Run
from kasset.builders.env import build_contract_env
from kasset.builders.labels import build_step_annotations, build_step_labels
from kasset.planning.model import StepLaunch

CONTAINER_NAME = "step"
NONROOT_ID = 65532
RUNTIME_DEFAULT = {"type": "RuntimeDefault"}


@dataclass(frozen=True)
class BuildSettings:
    """Operator-wide choices for step pods."""

    #: Node selector of every step pod (tests pick the node kind with `kasset.dev/node-kind: kwok|real`).
    node_selector: dict[str, str] = field(default_factory=dict)
    #: Tolerations of every step pod, as core/v1 Toleration dicts (e.g. for kwok's taint).
    tolerations: tuple[dict[str, Any], ...] = ()
    #: Annotations added to every step pod.
    pod_annotations: dict[str, str] = field(default_factory=dict)
    #: UID/GID the step runs as; None leaves them to the image (which must then not be root).
    run_as_user: int | None = NONROOT_ID
    run_as_group: int | None = NONROOT_ID
    #: Group owning mounted volumes that support ownership management (not hostPath).
    fs_group: int | None = NONROOT_ID
    #: Do not count pods evicted or preempted (DisruptionTarget) as failed attempts.
    ignore_disruptions: bool = True


def build_step_job(launch: StepLaunch, *, run: Run, settings: BuildSettings = BuildSettings()) -> dict[str, Any]:
    """The batch/v1 Job manifest for `launch`, owned by `run`."""
    contract = launch.contract
    labels = build_step_labels(run=contract.run, step=contract.step, asset=contract.asset, partition=contract.partition,
                               check=contract.check)
    annotations = build_step_annotations(
        run=contract.run, step=contract.step, asset=contract.asset, partition=contract.partition
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": launch.job_name,
            "namespace": contract.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [build_owner_reference(run)],
        },
        "spec": build_job_spec(launch, labels=labels, annotations=annotations, settings=settings),
    }


def build_owner_reference(owner: Any, kind: str = "Run") -> dict[str, Any]:
    """The controller owner reference to a Kasset object (a Run for its Jobs, a Sensor for its source);
    foreground deletion waits for what it owns."""
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": owner.metadata.name,
        "uid": owner.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def build_job_spec(
    launch: StepLaunch, *, labels: dict[str, str], annotations: dict[str, str], settings: BuildSettings
) -> dict[str, Any]:
    """Retries, deadline, fan-out completions and the pod template."""
    node = launch.node
    spec: dict[str, Any] = {}
    if launch.completions is not None:
        spec |= {
            "completionMode": "Indexed",
            "completions": launch.completions,
            "parallelism": launch.parallelism or 1,
            "backoffLimitPerIndex": node.retry_limit,
        }
    else:
        spec |= {"completions": 1, "parallelism": 1, "backoffLimit": node.retry_limit}
    if node.timeout_seconds is not None:
        spec["activeDeadlineSeconds"] = node.timeout_seconds
    if settings.ignore_disruptions:
        spec["podFailurePolicy"] = {
            "rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]
        }
    spec["template"] = {
        "metadata": build_pod_metadata(node.container, settings=settings, labels=labels, annotations=annotations),
        "spec": build_pod_spec(launch, settings=settings),
    }
    return spec


def build_pod_metadata(container: Container, *, settings: BuildSettings, labels: dict[str, str],
                       annotations: dict[str, str]) -> dict[str, Any]:
    """A pod template's labels and annotations: the user's `podMetadata` under the operator's own."""
    extra = container.pod_metadata
    return {"labels": {**((extra and extra.labels) or {}), **labels},
            "annotations": {**settings.pod_annotations, **((extra and extra.annotations) or {}), **annotations}}


def build_pod_spec(launch: StepLaunch, *, settings: BuildSettings) -> dict[str, Any]:
    """A restricted-profile pod with the step container; a service-account token only when one is named."""
    pod = build_restricted_pod(launch.node.container, build_container(launch), volumes=launch.node.volumes,
                               settings=settings)
    return {"restartPolicy": "Never", **pod}


def build_restricted_pod(spec: Container, container: dict[str, Any], *, volumes, settings: BuildSettings
                         ) -> dict[str, Any]:
    """A restricted-profile pod spec running `container` (built from `spec`): a service-account token only
    when one is named, the operator's node selector and tolerations."""
    pod: dict[str, Any] = {
        "enableServiceLinks": False,
        "automountServiceAccountToken": spec.service_account_name is not None,
        "securityContext": _pod_security_context(settings),
        "containers": [container],
    }
    if spec.service_account_name is not None:
        pod["serviceAccountName"] = spec.service_account_name
    if volumes:
        pod["volumes"] = [to_manifest(volume) for volume in volumes]
    if settings.node_selector:
        pod["nodeSelector"] = dict(settings.node_selector)
    if settings.tolerations:
        pod["tolerations"] = [dict(toleration) for toleration in settings.tolerations]
    return pod


def build_container(launch: StepLaunch) -> dict[str, Any]:
    """The step container: the user's image and command, the contract env first, then the user's env."""
    return build_user_container(launch.node.container, name=CONTAINER_NAME, env=build_contract_env(launch.contract))


def build_user_container(spec: Container, *, name: str, env: list[dict[str, Any]]) -> dict[str, Any]:
    """A user's container (step or Sensor source) under the restricted profile: `env` (the operator's) first,
    then the user's own variables."""
    container: dict[str, Any] = {"name": name, "image": spec.image}
    if spec.image_pull_policy is not None:
        container["imagePullPolicy"] = spec.image_pull_policy
    if spec.command is not None:
        container["command"] = list(spec.command)
    if spec.args is not None:
        container["args"] = list(spec.args)
    container["env"] = env + [to_manifest(var) for var in spec.env or ()]
    if spec.env_from:
        container["envFrom"] = [dict(source) for source in spec.env_from]
    if spec.resources is not None:
        container["resources"] = to_manifest(spec.resources)
    if spec.volume_mounts:
        container["volumeMounts"] = [to_manifest(mount) for mount in spec.volume_mounts]
    container["terminationMessagePolicy"] = "FallbackToLogsOnError"
    container["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": dict(RUNTIME_DEFAULT),
    }
    return container


def _pod_security_context(settings: BuildSettings) -> dict[str, Any]:
    security: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": dict(RUNTIME_DEFAULT)}
    ids = {"runAsUser": settings.run_as_user, "runAsGroup": settings.run_as_group, "fsGroup": settings.fs_group}
    security.update({key: value for key, value in ids.items() if value is not None})
    return security
