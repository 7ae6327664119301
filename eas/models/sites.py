"""Science data centres and their maintenance calendar."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eas.models.base import Base, UTCDateTime


class Site(Base):
    """One SDC: its capacity and where its storage service answers."""

    __tablename__ = "site"
    __table_args__ = (
        CheckConstraint("cores >= 0", name="cores_not_negative"),
        CheckConstraint("storage_tb >= 0", name="storage_not_negative"),
    )

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    country: Mapped[str] = mapped_column(String(8))
    cores: Mapped[int] = mapped_column(Integer)
    storage_tb: Mapped[float] = mapped_column(Float)
    dss_url: Mapped[str | None] = mapped_column(String(512))
    active: Mapped[bool] = mapped_column(default=True)

    maintenance_windows: Mapped[list[MaintenanceWindow]] = relationship(
        back_populates="site", cascade="all, delete-orphan", order_by="MaintenanceWindow.start"
    )


class MaintenanceWindow(Base):
    """A period during which a site gets no work of any role."""

    __tablename__ = "maintenance_window"
    __table_args__ = (
        CheckConstraint("end_time > start", name="ends_after_start"),
        Index("ix_maintenance_window_site_start", "site_name", "start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_name: Mapped[str] = mapped_column(ForeignKey("site.name", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    # `end` is reserved in SQL; the attribute keeps the domain's word.
    end: Mapped[datetime] = mapped_column("end_time", UTCDateTime)
    reason: Mapped[str] = mapped_column(String(256), default="")

    site: Mapped[Site] = relationship(back_populates="maintenance_windows")
