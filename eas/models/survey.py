"""The survey as observed: observations and the sky tiles that combine them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eas.models.base import Base, JSONDocument, UTCDateTime


class Observation(Base):
    """One pointing of the telescope: when, where, how big."""

    __tablename__ = "observation"
    __table_args__ = (
        CheckConstraint("size_bytes >= 0", name="size_not_negative"),
        CheckConstraint("ra >= 0 AND ra < 360", name="ra_in_range"),
        CheckConstraint("dec >= -90 AND dec <= 90", name="dec_in_range"),
    )

    obs_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ra: Mapped[float] = mapped_column(Float)
    # Cone searches narrow on a declination band first, then measure exactly.
    dec: Mapped[float] = mapped_column(Float, index=True)
    footprint: Mapped[list[list[float]] | None] = mapped_column(JSONDocument)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    survey: Mapped[str] = mapped_column(String(64), default="wide")


class Tile(Base):
    """A sky tile: a region processed as one, combining the observations that overlap it."""

    __tablename__ = "tile"
    __table_args__ = (
        CheckConstraint("radius_deg > 0", name="radius_positive"),
        CheckConstraint("ra >= 0 AND ra < 360", name="ra_in_range"),
        CheckConstraint("dec >= -90 AND dec <= 90", name="dec_in_range"),
    )

    tile_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ra: Mapped[float] = mapped_column(Float)
    dec: Mapped[float] = mapped_column(Float, index=True)
    radius_deg: Mapped[float] = mapped_column(Float)
    healpix: Mapped[list[int] | None] = mapped_column(JSONDocument)

    observations: Mapped[list[TileObservation]] = relationship(
        cascade="all, delete-orphan", order_by="TileObservation.obs_id"
    )

    @property
    def obs_ids(self) -> list[int]:
        """Ids of the observations this tile combines."""
        return [link.obs_id for link in self.observations]


class TileObservation(Base):
    """An observation overlapping a tile (a tile's input)."""

    __tablename__ = "tile_observation"

    tile_id: Mapped[int] = mapped_column(
        ForeignKey("tile.tile_id", ondelete="CASCADE"), primary_key=True
    )
    obs_id: Mapped[int] = mapped_column(
        ForeignKey("observation.obs_id", ondelete="CASCADE"), primary_key=True, index=True
    )
