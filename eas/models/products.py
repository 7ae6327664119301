"""Data products (identified by their provenance hash) and their replicas at sites."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eas.models.base import Base, JSONDocument, UTCDateTime, utcnow

REPLICA_STATES = (
    "AVAILABLE",
    "COPYING",
    "UNAVAILABLE",
    "TEMPORARY_UNAVAILABLE",
    "BEING_DELETED",
    "BAD",
)


class DataProduct(Base):
    """A file the survey produced; its id hashes pipeline, version, parameters and inputs."""

    __tablename__ = "data_product"
    __table_args__ = (
        CheckConstraint("size_bytes >= 0", name="size_not_negative"),
        # The scientists' query: products of a type for an observation or a tile.
        Index("ix_data_product_type_obs", "product_type", "obs_id", "product_id"),
        Index("ix_data_product_type_tile", "product_type", "tile_id", "product_id"),
        Index(
            "ix_data_product_metadata_gin",
            "metadata",
            postgresql_using="gin",
            postgresql_ops={"metadata": "jsonb_path_ops"},
        ),
    )

    product_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    product_type: Mapped[str] = mapped_column(String(64))
    obs_id: Mapped[int | None] = mapped_column(ForeignKey("observation.obs_id"), index=True)
    tile_id: Mapped[int | None] = mapped_column(ForeignKey("tile.tile_id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    # `metadata` is reserved by SQLAlchemy's declarative base; the column keeps the name.
    product_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSONDocument, default=dict)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    adler32: Mapped[str] = mapped_column(String(8))
    md5: Mapped[str | None] = mapped_column(String(32))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    replicas: Mapped[list[Replica]] = relationship(back_populates="product")


class Replica(Base):
    """A copy of a product held by one site's storage."""

    __tablename__ = "replica"
    __table_args__ = (
        UniqueConstraint("product_id", "site_name", name="uq_replica_product_site"),
        Index("ix_replica_site_state", "site_name", "state"),
        CheckConstraint(
            "state IN ('AVAILABLE', 'COPYING', 'UNAVAILABLE', 'TEMPORARY_UNAVAILABLE', "
            "'BEING_DELETED', 'BAD')",
            name="known_state",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[str] = mapped_column(
        ForeignKey("data_product.product_id", ondelete="CASCADE")
    )
    site_name: Mapped[str] = mapped_column(ForeignKey("site.name"))
    url: Mapped[str] = mapped_column(String(1024))
    state: Mapped[str] = mapped_column(String(24))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    product: Mapped[DataProduct] = relationship(back_populates="replicas")
