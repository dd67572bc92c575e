"""Manifests of Kasset objects for tests, and waits on their status (bounded polls)."""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client

from support.clusterinfo import ClusterInfo, wait_for

GROUP, VERSION = "kasset.dev", "v1alpha1"


def kwok_container(*, result: dict | None = None, fail: bool = False, delay: str | None = None) -> dict:
    """A step container for kwok nodes; the pod 'reports' `result` and succeeds (or fails) after `delay`."""
    annotations = {}
    if result is not None:
        annotations["kasset.dev/kwok-result"] = json.dumps(result)
    if delay:
        annotations["kasset.dev/kwok-delay"] = delay
    labels = {"kasset.dev/kwok-fail": "true"} if fail else {}
    return {"image": "kasset/none:0", "command": ["true"],
            "podMetadata": {"labels": labels, "annotations": annotations}}


def asset(name: str, *, deps: tuple[str, ...] = (), container: dict | None = None, **spec: Any) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Asset", "metadata": {"name": name},
            "spec": {"container": container or kwok_container(), "deps": [{"asset": d} for d in deps], **spec}}


def job(name: str, **spec: Any) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Job", "metadata": {"name": name}, "spec": spec}


def run(name: str, *, job_ref: str | None = None, assets: list[str] | None = None, **spec: Any) -> dict:
    body = {"jobRef": {"name": job_ref}} if job_ref else {"selection": {"assets": assets}}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Run", "metadata": {"name": name},
            "spec": {**body, **spec}}


def backfill(name: str, *, job_ref: str, **spec: Any) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Backfill", "metadata": {"name": name},
            "spec": {"jobRef": {"name": job_ref}, **spec}}


def schedule(name: str, *, cron: str, **spec: Any) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Schedule", "metadata": {"name": name},
            "spec": {"schedule": cron, **spec}}


def sensor(name: str, **spec: Any) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Sensor", "metadata": {"name": name}, "spec": spec}


class Kasset:
    """Create and read Kasset objects in one namespace."""

    def __init__(self, cluster: ClusterInfo, namespace: str):
        self.cluster = cluster
        self.namespace = namespace
        self.custom = client.CustomObjectsApi(cluster.api)

    def create(self, *objects: dict) -> None:
        for obj in objects:
            self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace,
                                                        obj["kind"].lower() + "s", obj)

    def get(self, plural: str, name: str) -> dict:
        return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)

    def condition(self, plural: str, name: str, type_: str) -> dict | None:
        status = self.get(plural, name).get("status") or {}
        return next((c for c in status.get("conditions") or [] if c["type"] == type_), None)

    def wait_run(self, name: str, *, timeout: float = 120, expect: str = "True") -> dict:
        """Wait until the Run's Succeeded condition is True or False; assert it is `expect`."""
        def finished():
            cond = self.condition("runs", name, "Succeeded")
            return cond if cond and cond["status"] in ("True", "False") else None

        cond = wait_for(finished, timeout=timeout, what=f"Run {name} to finish")
        run_obj = self.get("runs", name)
        assert cond["status"] == expect, json.dumps(run_obj.get("status"), indent=1)
        return run_obj

    def wait_backfill(self, name: str, *, timeout: float = 180, expect: str = "True",
                      generation: int = 1) -> dict:
        """Wait until the Backfill's Complete condition is True or False for `generation`; assert it is `expect`."""
        def finished():
            obj = self.get("backfills", name)
            status = obj.get("status") or {}
            cond = next((c for c in status.get("conditions") or [] if c["type"] == "Complete"), None)
            done = cond and cond["status"] in ("True", "False") and status.get("observedGeneration", 0) >= generation
            return obj if done else None

        obj = wait_for(finished, timeout=timeout, what=f"Backfill {name} to complete")
        cond = next(c for c in obj["status"]["conditions"] if c["type"] == "Complete")
        assert cond["status"] == expect, json.dumps(obj["status"], indent=1)
        return obj

    def step_jobs(self, run_name: str) -> list:
        return self.cluster.batch.list_namespaced_job(
            self.namespace, label_selector=f"kasset.dev/run={run_name}").items
