"""Small manifest makers for tests that exercise the cluster itself (not Kasset's builders)."""

from __future__ import annotations


def kwok_job(name: str, *, fail: bool = False, delay: str | None = None, backoff_limit: int = 0) -> dict:
    labels = {"kasset.dev/kwok-fail": "true"} if fail else {}
    annotations = {"kasset.dev/kwok-delay": delay} if delay else {}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {"kasset.dev/node-kind": "kwok"},
                    "containers": [{"name": "main", "image": "kasset/none:0", "command": ["true"]}],
                },
            },
        },
    }


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
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "nodeSelector": {"kasset.dev/node-kind": "real"},
                    "securityContext": RESTRICTED_POD_SECURITY,
                    "containers": [{
                        "name": "main",
                        "image": STEP_IMAGE,
                        "imagePullPolicy": "Never",
                        "command": ["python3", "-c", script],
                        "securityContext": RESTRICTED_CONTAINER_SECURITY,
                    }],
                },
            },
        },
    }
