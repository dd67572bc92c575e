"""The contract's constants, in one place (as Kubernetes keeps `well_known_labels.go`): the API group and
version, the labels and annotations on everything the operator creates, condition types and the reasons
other components act on.

Does not: compute anything.
"""

from __future__ import annotations

from kasset.api.base import API_VERSION, GROUP, VERSION

__all__ = ["API_VERSION", "GROUP", "VERSION"]

# -- labels (values sanitized to fit; the exact value is in the annotation of the same name) ---------------
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "kasset"
LABEL_RUN = "kasset.dev/run"
LABEL_STEP = "kasset.dev/step"
LABEL_ASSET = "kasset.dev/asset"
LABEL_PARTITION = "kasset.dev/partition"
LABEL_TRIGGER = "kasset.dev/trigger"
LABEL_SOURCE_RUN = "kasset.dev/source-run"
LABEL_BACKFILL = "kasset.dev/backfill"
LABEL_SCHEDULE = "kasset.dev/schedule"
LABEL_SENSOR = "kasset.dev/sensor"
LABEL_CHECK = "kasset.dev/check"
LABEL_COMPONENT = "app.kubernetes.io/component"
COMPONENT_SENSOR_SOURCE = "sensor-source"  # a container Sensor's source Deployment and its pods

# -- annotations ---------------------------------------------------------------------------------------------
ANNOTATION_RUN = "kasset.dev/run"
ANNOTATION_STEP = "kasset.dev/step"
ANNOTATION_ASSET = "kasset.dev/asset"
ANNOTATION_PARTITION = "kasset.dev/partition"
ANNOTATION_BACKFILL_PARTITIONS = "kasset.dev/backfill-partitions"  # a Backfill's Run: its batch (key or first...last)
ANNOTATION_SCHEDULE_TICK = "kasset.dev/schedule-tick"  # a Schedule's Run: its tick (RFC 3339, UTC)
ANNOTATION_SOURCE_HASH = "kasset.dev/source-hash"  # a source Deployment: hash of the spec the operator wrote
ANNOTATION_BACKFILL_RERUN = "kasset.dev/backfill-rerun"  # a Backfill's Run: spec.rerunFailed when it was created

# -- condition types -----------------------------------------------------------------------------------------
SUCCEEDED = "Succeeded"            # Run: True, False, or Unknown while it runs
READY = "Ready"                    # Job: its steps resolve to a DAG
MATERIALIZED = "Materialized"      # Asset
SOURCE_AVAILABLE = "SourceAvailable"  # Sensor with a container source: its Deployment is Available
STALE = "Stale"                    # Asset
DEPENDENCIES_RESOLVED = "DependenciesResolved"  # Asset
CHECKS_PASSED = "ChecksPassed"    # Asset: every declared check passed on its last run
COMPLETE = "Complete"              # Backfill: True when every partition succeeded, False when some failed

# -- the batch/v1 Job conditions the operator reads ----------------------------------------------------------
JOB_COMPLETE = "Complete"
JOB_FAILED = "Failed"
#: Labels the Job controller puts on a Job's pods (the first is current, the second legacy).
JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")
