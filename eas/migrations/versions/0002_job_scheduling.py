"""Job scheduling facts: subject, plan sites, ready time, deadline, backoff, heartbeat.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

UTC_TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("obs_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("tile_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("primary_site", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("secondary_site", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("ready_at", UTC_TIMESTAMP, nullable=True))
        batch_op.add_column(sa.Column("deadline", UTC_TIMESTAMP, nullable=True))
        batch_op.add_column(sa.Column("not_before", UTC_TIMESTAMP, nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", UTC_TIMESTAMP, nullable=True))
        batch_op.add_column(
            sa.Column("quarantined", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_job_job_key"), ["job_key"])
        batch_op.create_foreign_key(
            batch_op.f("fk_job_obs_id_observation"), "observation", ["obs_id"], ["obs_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_job_tile_id_tile"), "tile", ["tile_id"], ["tile_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_job_primary_site_site"), "site", ["primary_site"], ["name"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_job_secondary_site_site"), "site", ["secondary_site"], ["name"]
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("job", schema=None) as batch_op:
        for name in (
            "fk_job_secondary_site_site",
            "fk_job_primary_site_site",
            "fk_job_tile_id_tile",
            "fk_job_obs_id_observation",
        ):
            batch_op.drop_constraint(batch_op.f(name), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_job_job_key"), type_="unique")
        for column in (
            "quarantined",
            "heartbeat_at",
            "not_before",
            "deadline",
            "ready_at",
            "secondary_site",
            "primary_site",
            "tile_id",
            "obs_id",
            "job_key",
        ):
            batch_op.drop_column(column)
