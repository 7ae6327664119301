"""Placement plans: versions and their per-observation / per-tile site assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eas.models.base import Base, JSONDocument, UTCDateTime, utcnow

PLAN_STATUSES = ("DRAFT", "CURRENT", "SUPERSEDED")
ASSIGNMENT_ROLES = ("primary", "secondary", "processing")


class Plan(Base):
    """One version of the placement plan, with the solver's statistics."""

    __tablename__ = "plan"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    parent_version: Mapped[int | None] = mapped_column(ForeignKey("plan.version"))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    solver: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="CURRENT", index=True)
    stats: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    objective: Mapped[float | None] = mapped_column(Float)

    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="plan", cascade="all, delete-orphan"
    )


class Assignment(Base):
    """An observation's primary/secondary site, or a tile's processing site, in one plan."""

    __tablename__ = "assignment"
    __table_args__ = (
        CheckConstraint("(obs_id IS NULL) <> (tile_id IS NULL)", name="exactly_one_of_obs_or_tile"),
        CheckConstraint("role IN ('primary', 'secondary', 'processing')", name="known_role"),
        Index("ix_assignment_plan_obs", "plan_version", "obs_id", "role"),
        Index("ix_assignment_plan_tile", "plan_version", "tile_id", "role"),
        Index("ix_assignment_plan_site", "plan_version", "site_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_version: Mapped[int] = mapped_column(ForeignKey("plan.version", ondelete="CASCADE"))
    obs_id: Mapped[int | None] = mapped_column(ForeignKey("observation.obs_id"))
    tile_id: Mapped[int | None] = mapped_column(ForeignKey("tile.tile_id"))
    role: Mapped[str] = mapped_column(String(16))
    site_name: Mapped[str] = mapped_column(ForeignKey("site.name"))

    plan: Mapped[Plan] = relationship(back_populates="assignments")
