"""The operator's settings: one pydantic-settings object, read from `KASSET_*` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KASSET_")

    namespace: str | None = Field(
        default=None,
        description="Namespace to watch; None watches all namespaces (the Helm chart's default).",
    )
    metrics_port: int = Field(
        default=9090, description="Port of the Prometheus /metrics endpoint; 0 disables it."
    )
    annotation_prefix: str = Field(
        default="kopf.kasset.dev",
        description="Prefix of the annotations where kopf keeps its own progress (never in status).",
    )
    safety_timer_seconds: float = Field(
        default=60.0,
        description="Interval of the slow safety-net reconcile; children's events drive the fast path.",
    )
