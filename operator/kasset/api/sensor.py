"""The Sensor kind (`sensors.kasset.dev`): events in, Runs out (DESIGN §2).

One source per Sensor:
- `assetMaterialized`: every materialization of the named assets, every partition (never only the latest);
- `webhook`: an HTTP POST to the operator's port at `/sensors/<namespace>/<name>`, with a bearer token from a
  Secret; the event id comes from a header (or a body field);
- `container`: a long-running source container the operator runs for the Sensor (a one-replica Deployment
  `<sensor>-source`, like Argo Events' EventSource) that POSTs each event to that same endpoint, with the URL and
  token it is given as KASSET_SENSOR_URL and KASSET_SENSOR_TOKEN. The project ships an SQS source
  (`sources/sqs`); any container that makes one HTTP POST per event is a source.

Every event becomes one Run whose name derives from the event (`runKey`), so one event never makes two Runs,
whatever retries or restarts happen. `params` and `partition` are templates over the event's plain JSON
(`{{ metadata.s3_key }}`, `{{ body.key }}`; see `kasset.planning.templates`). status: the latest event's time, the
recent Runs (bounded), counts, and the Ready condition.

Does not: turn events into Runs (see `kasset.planning.sensor`) or serve HTTP (see `kasset.runtime.webhooks`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from kasset.api.base import API_VERSION, KassetModel, MicroTimestamp, ObjectMeta, ObjectName, Timestamp
from kasset.api.common import AssetSelection, Container, Volume, MAX_VOLUMES
from kasset.api.conditions import Condition
from kasset.api.run import JobRef

#: Runs listed in status.recentRuns, newest first.
MAX_RECENT_RUNS = 20
#: Events remembered in status.seenKeys (as hashes of their runKeys): a replay within them creates nothing,
#: even after the event's Run was pruned by the history limits.
MAX_SEEN_KEYS = 1000
#: Most assets one assetMaterialized source watches.
MAX_WATCHED_ASSETS = 100
EVENT_ID_MAX_LENGTH = 200


class AssetMaterializedSource(KassetModel):
    """Every materialization of these assets (each partition of a partitioned one) is an event."""

    assets: list[ObjectName] = Field(
        description="Names of Assets in the same namespace.", min_length=1, max_length=MAX_WATCHED_ASSETS,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )


class SecretKeyRef(KassetModel):
    """A key of a Secret in the Sensor's namespace."""

    name: ObjectName = Field(description="Name of the Secret.")
    key: str = Field(default="token", description="Key in the Secret's data.", min_length=1, max_length=253)


class WebhookSource(KassetModel):
    """An HTTP endpoint served by the operator: POST a JSON object to /sensors/<namespace>/<sensor>."""

    token_secret_ref: SecretKeyRef = Field(
        description="The Secret key holding the token callers send as `Authorization: Bearer <token>`."
    )
    event_id_header: str = Field(
        default="X-Event-Id", description="The header carrying the event's id (its runKey).", min_length=1,
        max_length=128,
    )
    event_id_field: str | None = Field(
        default=None,
        description="A dotted path into the JSON body holding the event's id, used when the header is absent "
        "(e.g. `detail.id`).",
        max_length=253,
    )


class ContainerSource(Container):
    """A source container: the operator runs it as the one-replica Deployment `<sensor>-source` (restricted
    security context, the operator's step node selector and tolerations) with KASSET_SENSOR_URL and
    KASSET_SENSOR_TOKEN set. It POSTs each event as a JSON object with its id in the `X-Event-Id` header; a
    2xx answer means the event's Run exists (201 created, 200 a duplicate)."""

    token_secret_ref: SecretKeyRef = Field(
        description="The Secret key holding the token: given to the container as KASSET_SENSOR_TOKEN (a "
        "secretKeyRef, never copied) and checked on every POST."
    )
    volumes: list[Volume] | None = Field(
        default=None, description="Pod volumes the container mounts, passed through unchanged.",
        max_length=MAX_VOLUMES,
    )


class SensorSpec(KassetModel):
    """Where events come from, and the Run each one becomes."""

    asset_materialized: AssetMaterializedSource | None = Field(
        default=None, description="Events: materializations of Assets. Exactly one source must be set."
    )
    webhook: WebhookSource | None = Field(
        default=None, description="Events: HTTP POSTs to the operator. Exactly one source must be set."
    )
    container: ContainerSource | None = Field(
        default=None,
        description="Events: POSTs from a source container the operator runs (e.g. the SQS source). Exactly "
        "one source must be set.",
    )
    job_ref: JobRef | None = Field(default=None, description="The Job to run; exactly one of jobRef and selection.")
    selection: AssetSelection | None = Field(
        default=None, description="The assets to materialize; exactly one of jobRef and selection."
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Params of every Run; string values are templates over the event. assetMaterialized: "
        "{{ asset }}, {{ partition }}, {{ run }}, {{ dataVersion }}, {{ time }}, {{ metadata.<key> }}. webhook: "
        "{{ body.<path> }}, {{ eventId }} (webhook and container).",
    )
    partition: str | None = Field(
        default=None,
        description="The partition each Run materializes, as a template (e.g. '{{ partition }}'); none if omitted.",
        max_length=256,
    )
    suspend: bool = Field(default=False, description="While true, events are refused (webhook: 503) or dropped.")

    @model_validator(mode="after")
    def one_source_and_target(self) -> SensorSpec:
        if sum(source is not None for source in (self.asset_materialized, self.webhook, self.container)) != 1:
            raise ValueError("exactly one source (assetMaterialized, webhook or container) must be set")
        if (self.job_ref is None) == (self.selection is None):
            raise ValueError("exactly one of jobRef and selection must be set")
        return self


class SensorRun(KassetModel):
    """A Run the Sensor created."""

    run: ObjectName = Field(description="The Run's name.")
    run_key: str = Field(description="The event's key the name derives from.", max_length=253)
    time: MicroTimestamp = Field(description="When the Run was created.")


class SensorStatus(KassetModel):
    """What the operator observed: events and the Runs they became."""

    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this status was computed from.", ge=0
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready: True while events become Runs (reason Listening) or are refused (Suspended); False "
        "when the spec does not resolve (InvalidSpec, JobNotFound, NoSensorURL). SourceAvailable (container "
        "sources): the source Deployment's Available condition.",
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    last_event_time: Timestamp | None = Field(default=None, description="When the latest Run was created.")
    recent_runs: list[SensorRun] = Field(
        default_factory=list, description=f"The latest Runs created, newest first (at most {MAX_RECENT_RUNS}).",
        max_length=MAX_RECENT_RUNS,
    )
    seen_keys: list[str] = Field(
        default_factory=list,
        description=f"Hashes of the runKeys of the latest {MAX_SEEN_KEYS} events, newest first: an event seen "
        "here is a duplicate even after its Run was deleted by the history limits.",
        max_length=MAX_SEEN_KEYS,
        json_schema_extra={"items": {"maxLength": 32}},
    )
    running: int = Field(default=0, description="Runs of the Sensor not finished.", ge=0)
    succeeded: int = Field(default=0, description="Runs of the Sensor that succeeded (still kept).", ge=0)
    failed: int = Field(default=0, description="Runs of the Sensor that failed (still kept).", ge=0)
    endpoint: str | None = Field(
        default=None, description="webhook and container: the path to POST to on the operator's port.",
        max_length=512,
    )
    source: str | None = Field(
        default=None, description="container: the name of the source Deployment.", max_length=253
    )


class Sensor(KassetModel):
    """Events (materializations, webhook calls) in, one Run per event out."""

    api_version: Literal["kasset.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["Sensor"] = "Sensor"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: SensorSpec
    status: SensorStatus = Field(default_factory=SensorStatus)
