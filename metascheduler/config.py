"""The metascheduler's settings (a field of `sdc.settings.Settings`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from metascheduler.retry import RetryPolicy


class SchedulerConfig(BaseModel):
    """What the scheduler makes jobs of, how long leases last, how it retries."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error

    latency_days: float = Field(default=3.0, gt=0, description="arrival to deadline")
    lease_seconds: float = Field(default=300.0, gt=0, description="lease between heartbeats")
    interval_seconds: float = Field(default=5.0, gt=0, description="pause between scheduler cycles")
    raw_product_type: str = "RAW_FRAME"
    calibrated_product_type: str = "CALIBRATED_FRAME"
    calibration_pipeline: str = "calibrate"
    tile_pipeline: str = "mosaic"
    pipeline_priorities: dict[str, int] = Field(default_factory=lambda: {"calibrate": 10})
    max_attempts: int = Field(default=3, ge=1)
    backoff_first_seconds: float = Field(default=30.0, ge=0)
    backoff_max_seconds: float = Field(default=3600.0, ge=0)
    memory_factor: float = Field(default=1.5, gt=1)
    transport: Literal["http", "celery"] = Field(
        default="http", description="how agents hear of queued jobs: http (pull) or celery"
    )
    broker_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672//",
        description="Celery broker (RabbitMQ amqp://... or Redis redis://host:port/N)",
    )
    ids_per_message: int = Field(
        default=16,
        ge=1,
        le=500,
        description="celery: job ids one message may carry (a cycle's jobs of a site are "
        "announced in messages of up to this many ids)",
    )
    republish_seconds: float = Field(
        default=60.0,
        ge=0,
        description="a QUEUED job not claimed this long after its last message is published "
        "again (the broker may have lost it)",
    )

    @property
    def latency(self) -> timedelta:
        """Arrival to deadline, as a duration."""
        return timedelta(days=self.latency_days)

    @property
    def lease(self) -> timedelta:
        """Lease lifetime, as a duration."""
        return timedelta(seconds=self.lease_seconds)

    def retry_policy(self) -> RetryPolicy:
        """The pure retry rules these settings describe."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            backoff_first=timedelta(seconds=self.backoff_first_seconds),
            backoff_max=timedelta(seconds=self.backoff_max_seconds),
            memory_factor=self.memory_factor,
        )
