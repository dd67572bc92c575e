"""Small manifest makers for tests that exercise the cluster itself (not Kasset's builders)."""

from __future__ import annotations


def batch_job(name: str, pod_spec: dict, *, labels: dict | None = None, annotations: dict | None = None,
              backoff_limit: int = 0) -> dict:
    """A batch/v1 Job running `pod_spec` once (restartPolicy Never)."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {
                "metadata": {"labels": labels or {}, "annotations": annotations or {}},
                "spec": {"restartPolicy": "Never", **pod_spec},
            },
        },
    }


def kwok_job(name: str, *, fail: bool = False, delay: str | None = None, backoff_limit: int = 0) -> dict:
    """A Job for a kwok node: its pod 'runs' for `delay`, then succeeds (or fails with `fail`)."""
    return batch_job(
        name,
        {"nodeSelector": {"kasset.dev/node-kind": "kwok"},
         "containers": [{"name": "main", "image": "kasset/none:0", "command": ["true"]}]},
        labels={"kasset.dev/kwok-fail": "true"} if fail else None,
        annotations={"kasset.dev/kwok-delay": delay} if delay else None,
        backoff_limit=backoff_limit,
    )


def job_condition(job, kind: str) -> bool:
    return any(c.type == kind and c.status == "True" for c in (job.status.conditions or []))


STEP_IMAGE = "kasset/step-python:0.1.0"

RESTRICTED_POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESTRICTED_CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}


def real_job(name: str, script: str, *, backoff_limit: int = 0) -> dict:
    """A Job whose pod runs `python3 -c script` in the step image on the real node, restricted profile."""
    return batch_job(
        name,
        {"automountServiceAccountToken": False,
         "nodeSelector": {"kasset.dev/node-kind": "real"},
         "securityContext": RESTRICTED_POD_SECURITY,
         "containers": [{"name": "main", "image": STEP_IMAGE, "imagePullPolicy": "Never",
                         "command": ["python3", "-c", script], "securityContext": RESTRICTED_CONTAINER_SECURITY}]},
        backoff_limit=backoff_limit,
    )
