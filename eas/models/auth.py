"""API tokens: stored as hashes only, each with one role (agents bound to a site)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from eas.models.base import Base, UTCDateTime, utcnow

ROLES = ("reader", "planner", "agent", "admin")


class Token(Base):
    """A bearer token's hash, who holds it and what it may do."""

    __tablename__ = "token"
    __table_args__ = (
        CheckConstraint("role IN ('reader', 'planner', 'agent', 'admin')", name="known_role"),
        CheckConstraint("role <> 'agent' OR site_name IS NOT NULL", name="agent_has_site"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    site_name: Mapped[str | None] = mapped_column(ForeignKey("site.name"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked: Mapped[bool] = mapped_column(default=False)
