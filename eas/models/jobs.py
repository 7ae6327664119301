"""Jobs (the metascheduler's activities) and their W3C-PROV-shaped lineage edges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from eas.models.base import Base, JSONDocument, UTCDateTime, utcnow

JOB_STATES = (
    "PENDING",
    "QUEUED",
    "CLAIMED",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "CANCELLED",
    "WAITING",
)


class Job(Base):
    """One run of a pipeline at a site; its row, never a broker message, is the truth."""

    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint(
            "state IN ('PENDING', 'QUEUED', 'CLAIMED', 'RUNNING', 'SUCCEEDED', 'FAILED', "
            "'CANCELLED', 'WAITING')",
            name="known_state",
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # Claiming: the highest-priority queued job of one site.
        Index("ix_job_site_state_priority", "target_site", "state", "priority"),
        Index("ix_job_state_lease_expiry", "state", "lease_expiry"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(128))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    input_product_ids: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    target_site: Mapped[str | None] = mapped_column(ForeignKey("site.name"))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="PENDING")
    wait_reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_class: Mapped[str | None] = mapped_column(String(32))
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_epoch: Mapped[int] = mapped_column(Integer, default=0)
    lease_expiry: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_resources: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    used_resources: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    log_url: Mapped[str | None] = mapped_column(String(1024))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parent_job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"), index=True)
    # Scheduling facts (migration 0002): what the job is for, where the plan wants it, when.
    job_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    obs_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("observation.obs_id"))
    tile_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("tile.tile_id"))
    primary_site: Mapped[str | None] = mapped_column(ForeignKey("site.name"))
    secondary_site: Mapped[str | None] = mapped_column(ForeignKey("site.name"))
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class Usage(Base):
    """Edge: a job used a product as input."""

    __tablename__ = "usage"

    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[str] = mapped_column(
        ForeignKey("data_product.product_id"), primary_key=True, index=True
    )


class Generation(Base):
    """Edge: a job generated a product."""

    __tablename__ = "generation"

    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[str] = mapped_column(
        ForeignKey("data_product.product_id"), primary_key=True, index=True
    )
