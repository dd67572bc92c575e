"""Kasset: a Kubernetes-native data orchestrator.

Layers (kept apart by import-linter, see `.importlinter`):

- `kasset.api`        pydantic models of the custom resources, and CRD generation from them
- `kasset.planning`   pure decisions: DAG order, what to launch next, staleness, retries
- `kasset.builders`   pure manifest builders (batch/v1 Jobs for steps)
- `kasset.sdk`        the dependency-free helper that step containers import
- `kasset.k8s`        the only package that talks to the Kubernetes API
- `kasset.reconcilers` observe → plan → apply → write status, one per kind
- `kasset.handlers`   the only module that uses kopf's decorators
- `kasset.runtime`    informers' cache, work queue and controller

The local cluster, the image builder and the demo are development tooling in `tools/` (`kasset_tools`), which
this package never imports.
"""

__version__ = "0.1.0"
