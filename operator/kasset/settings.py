"""The operator's settings: one pydantic-settings object, read from `KASSET_*` environment variables
(dicts and lists as JSON, `null` for None)."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KASSET_", env_parse_none_str="null")

    namespaces: list[str] = Field(
        default_factory=list,
        description="Namespaces to watch, as shell-style patterns (`team-*`), as JSON; empty watches all. One "
        "plain name watches that namespace alone; otherwise the watches are cluster-wide and filtered, so a "
        "namespace created later is served from its first event (no per-namespace discovery).",
    )
    metrics_port: int = Field(
        default=8080, ge=0, le=65535,
        description="Port serving /metrics, /healthz and /readyz; 0 disables it. 8080, not Prometheus's own "
        "9090, so a Prometheus on the same host does not collide with it.",
    )
    metrics_bind_address: str = Field(
        default="0.0.0.0",
        description="Address the probe and webhook ports bind (0.0.0.0: every interface, as in a pod).",
    )
    webhook_port: int = Field(
        default=8081, ge=0, le=65535,
        description="Port serving the Sensors' webhooks (`POST /sensors/<namespace>/<name>`); 0 disables it. Apart "
        "from the probe port (as controller-runtime keeps webhooks apart from probes), so no webhook caller can "
        "starve /healthz.",
    )
    webhook_threads: int = Field(
        default=32, ge=1, le=256,
        description="Threads answering complete webhook requests (each waits on the Run's create, ~0.1 s): 32 "
        "answer a 50 events/s burst. Slow or half-sent requests wait in the event loop, not in a thread.",
    )
    webhook_max_connections: int = Field(
        default=512, ge=1, le=4096,
        description="Open connections the webhook port accepts; beyond it, it stops accepting until some close.",
    )
    webhook_read_timeout_seconds: float = Field(
        default=10.0, gt=0,
        description="Seconds a webhook request may take to arrive whole (headers and body, from its first byte); "
        "a slower client is disconnected (slowloris). 10 s is ample for a 1 MiB body.",
    )
    annotation_prefix: str = Field(
        default="kopf.kasset.dev",
        description="Prefix of the annotations where kopf keeps its own progress (never in status).",
    )
    safety_timer_seconds: float = Field(
        default=60.0,
        description="Interval of the slow safety-net reconcile; children's events drive the fast path.",
    )
    step_node_selector: dict[str, str] = Field(
        default_factory=dict,
        description="nodeSelector of every step pod, as JSON (tests pin steps to kwok or the real node).",
    )
    step_tolerations: list[dict] = Field(
        default_factory=list, description="Tolerations of every step pod (core/v1 Toleration objects), as JSON."
    )
    step_pod_annotations: dict[str, str] = Field(
        default_factory=dict, description="Annotations added to every step pod, as JSON."
    )
    step_run_as_user: int | None = Field(
        default=65532,
        description="UID, GID and fsGroup of step pods (the restricted profile needs non-root); "
        "`null` to use the image's own (non-root) USER.",
    )
    default_asset_storage: str = Field(
        default="file:///var/lib/kasset/{namespace}/assets/{asset}/{partition}",
        description="Output URI template of assets without spec.storage.",
    )
    default_step_storage: str = Field(
        default="file:///var/lib/kasset/{namespace}/runs/{run}/{step}",
        description="Output URI template of explicit steps whose Job has no spec.storage.",
    )
    missing_reference_grace_seconds: float = Field(
        default=60.0,
        description="How long a Run waits for the Job or Assets it names to appear before it fails, in seconds "
        "(`kubectl apply -f folder/` may create the Run first).",
    )
    workers: int = Field(
        default=16,
        description="Threads that run reconciles (each waits on API calls, so more than cores is right; the "
        "work queue never gives one object to two of them).",
    )
    successful_runs_history_limit: int = Field(
        default=50, ge=0,
        description="Finished successful Runs without a Job (ad-hoc and Eager) kept per namespace; older ones "
        "are deleted with their step Jobs (Runs of a Job follow the Job's own limits).",
    )
    failed_runs_history_limit: int = Field(
        default=50, ge=0, description="Finished failed Runs without a Job kept per namespace.",
    )
    leader_elect: bool = Field(
        default=False,
        description="Elect one leader among the replicas on a coordination.k8s.io Lease; only the leader reconciles, "
        "the others keep their caches warm and take over within 15 s of its death. Off for a single local process "
        "(`kasset run`); the Helm chart turns it on.",
    )
    leader_election_namespace: str | None = Field(
        default=None, description="Namespace of the Lease; default: the pod's (POD_NAMESPACE), else `default`.",
    )
    leader_election_id: str = Field(
        default="kasset-operator", description="Name of the Lease (the chart creates `<release>-leader`).",
    )
    leader_lease_seconds: float = Field(
        default=10.0, gt=0,
        description="How long the others wait, after they last saw the Lease renewed, before they take it "
        "(client-go's LeaseDuration; kube-controller-manager uses 15 s).",
    )
    leader_renew_deadline_seconds: float = Field(
        default=7.0, gt=0,
        description="How long the leader keeps leading without a successful renewal, counted from the start of "
        "the renewal attempt that last succeeded; must be less than the lease, so it stops before anyone else may "
        "start. Each Lease call is bounded by a quarter of it (client-go's RenewDeadline).",
    )
    leader_retry_seconds: float = Field(
        default=2.0, gt=0,
        description="Interval between tries to take or renew the Lease; less than the renew deadline, so one "
        "failed renewal does not end the leadership (client-go's RetryPeriod).",
    )
    sync_timeout_seconds: float = Field(
        default=120.0,
        description="How long start-up waits for the first list of every watched resource before giving up.",
    )
    sensor_base_url: str | None = Field(
        default=None,
        description="The URL at which source pods reach the operator's port (e.g. `http://kasset.kasset.svc:8080`, "
        "which the chart sets); a container Sensor's source POSTs to `<this>/sensors/<namespace>/<name>`. Unset: "
        "container Sensors are not Ready (reason NoSensorURL).",
    )

    @model_validator(mode="after")
    def _leader_timing_is_ordered(self) -> Settings:
        """retry < renew deadline < lease: the only order in which two leaders never overlap."""
        if not self.leader_retry_seconds < self.leader_renew_deadline_seconds < self.leader_lease_seconds:
            raise ValueError("leader election needs leader_retry_seconds < leader_renew_deadline_seconds < "
                             "leader_lease_seconds")
        return self
