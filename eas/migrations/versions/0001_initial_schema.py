"""Initial schema: every table of DESIGN.md section 4.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Frozen copies of the models' column types: a migration never follows later model edits.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_TIMESTAMP = sa.DateTime(timezone=True)

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "observation",
        sa.Column("obs_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("start", UTC_TIMESTAMP, nullable=False),
        sa.Column("ra", sa.Float(), nullable=False),
        sa.Column("dec", sa.Float(), nullable=False),
        sa.Column("footprint", JSON_DOCUMENT, nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("survey", sa.String(length=64), nullable=False),
        sa.CheckConstraint("dec >= -90 AND dec <= 90", name=op.f("ck_observation_dec_in_range")),
        sa.CheckConstraint("ra >= 0 AND ra < 360", name=op.f("ck_observation_ra_in_range")),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_observation_size_not_negative")),
        sa.PrimaryKeyConstraint("obs_id", name=op.f("pk_observation")),
    )
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_observation_dec"), ["dec"], unique=False)
        batch_op.create_index(batch_op.f("ix_observation_start"), ["start"], unique=False)

    op.create_table(
        "plan",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("parent_version", sa.Integer(), nullable=True),
        sa.Column("created", UTC_TIMESTAMP, nullable=False),
        sa.Column("solver", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stats", JSON_DOCUMENT, nullable=False),
        sa.Column("objective", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_version"], ["plan.version"], name=op.f("fk_plan_parent_version_plan")
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_plan")),
    )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_status"), ["status"], unique=False)

    op.create_table(
        "site",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=False),
        sa.Column("cores", sa.Integer(), nullable=False),
        sa.Column("storage_tb", sa.Float(), nullable=False),
        sa.Column("dss_url", sa.String(length=512), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("cores >= 0", name=op.f("ck_site_cores_not_negative")),
        sa.CheckConstraint("storage_tb >= 0", name=op.f("ck_site_storage_not_negative")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_site")),
    )
    op.create_table(
        "tile",
        sa.Column("tile_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ra", sa.Float(), nullable=False),
        sa.Column("dec", sa.Float(), nullable=False),
        sa.Column("radius_deg", sa.Float(), nullable=False),
        sa.Column("healpix", JSON_DOCUMENT, nullable=True),
        sa.CheckConstraint("dec >= -90 AND dec <= 90", name=op.f("ck_tile_dec_in_range")),
        sa.CheckConstraint("ra >= 0 AND ra < 360", name=op.f("ck_tile_ra_in_range")),
        sa.CheckConstraint("radius_deg > 0", name=op.f("ck_tile_radius_positive")),
        sa.PrimaryKeyConstraint("tile_id", name=op.f("pk_tile")),
    )
    with op.batch_alter_table("tile", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tile_dec"), ["dec"], unique=False)

    op.create_table(
        "assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("obs_id", sa.BigInteger(), nullable=True),
        sa.Column("tile_id", sa.BigInteger(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("site_name", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "role IN ('primary', 'secondary', 'processing')", name=op.f("ck_assignment_known_role")
        ),
        sa.CheckConstraint(
            "(obs_id IS NULL) <> (tile_id IS NULL)",
            name=op.f("ck_assignment_exactly_one_of_obs_or_tile"),
        ),
        sa.ForeignKeyConstraint(
            ["obs_id"], ["observation.obs_id"], name=op.f("fk_assignment_obs_id_observation")
        ),
        sa.ForeignKeyConstraint(
            ["plan_version"],
            ["plan.version"],
            name=op.f("fk_assignment_plan_version_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_name"], ["site.name"], name=op.f("fk_assignment_site_name_site")
        ),
        sa.ForeignKeyConstraint(
            ["tile_id"], ["tile.tile_id"], name=op.f("fk_assignment_tile_id_tile")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment")),
    )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assignment_plan_obs", ["plan_version", "obs_id", "role"], unique=False
        )
        batch_op.create_index(
            "ix_assignment_plan_site", ["plan_version", "site_name"], unique=False
        )
        batch_op.create_index(
            "ix_assignment_plan_tile", ["plan_version", "tile_id", "role"], unique=False
        )

    op.create_table(
        "data_product",
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("product_type", sa.String(length=64), nullable=False),
        sa.Column("obs_id", sa.BigInteger(), nullable=True),
        sa.Column("tile_id", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("metadata", JSON_DOCUMENT, nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("adler32", sa.String(length=8), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("created", UTC_TIMESTAMP, nullable=False),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_data_product_size_not_negative")),
        sa.ForeignKeyConstraint(
            ["obs_id"], ["observation.obs_id"], name=op.f("fk_data_product_obs_id_observation")
        ),
        sa.ForeignKeyConstraint(
            ["tile_id"], ["tile.tile_id"], name=op.f("fk_data_product_tile_id_tile")
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_data_product")),
    )
    with op.batch_alter_table("data_product", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_product_created"), ["created"], unique=False)
        batch_op.create_index(
            "ix_data_product_metadata_gin",
            ["metadata"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"metadata": "jsonb_path_ops"},
        )
        batch_op.create_index(batch_op.f("ix_data_product_obs_id"), ["obs_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_data_product_tile_id"), ["tile_id"], unique=False)
        batch_op.create_index(
            "ix_data_product_type_obs", ["product_type", "obs_id", "product_id"], unique=False
        )
        batch_op.create_index(
            "ix_data_product_type_tile", ["product_type", "tile_id", "product_id"], unique=False
        )

    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pipeline", sa.String(length=128), nullable=False),
        sa.Column("parameters", JSON_DOCUMENT, nullable=False),
        sa.Column("input_product_ids", JSON_DOCUMENT, nullable=False),
        sa.Column("target_site", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("wait_reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_class", sa.String(length=32), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_epoch", sa.Integer(), nullable=False),
        sa.Column("lease_expiry", UTC_TIMESTAMP, nullable=True),
        sa.Column("requested_resources", JSON_DOCUMENT, nullable=False),
        sa.Column("used_resources", JSON_DOCUMENT, nullable=True),
        sa.Column("log_url", sa.String(length=1024), nullable=True),
        sa.Column("created", UTC_TIMESTAMP, nullable=False),
        sa.Column("started", UTC_TIMESTAMP, nullable=True),
        sa.Column("finished", UTC_TIMESTAMP, nullable=True),
        sa.Column("parent_job_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "state IN ('PENDING', 'QUEUED', 'CLAIMED', 'RUNNING', 'SUCCEEDED', 'FAILED', "
            "'CANCELLED', 'WAITING')",
            name=op.f("ck_job_known_state"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_job_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["parent_job_id"], ["job.id"], name=op.f("fk_job_parent_job_id_job")
        ),
        sa.ForeignKeyConstraint(
            ["target_site"], ["site.name"], name=op.f("fk_job_target_site_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_parent_job_id"), ["parent_job_id"], unique=False)
        batch_op.create_index(
            "ix_job_site_state_priority", ["target_site", "state", "priority"], unique=False
        )
        batch_op.create_index("ix_job_state_lease_expiry", ["state", "lease_expiry"], unique=False)

    op.create_table(
        "maintenance_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_name", sa.String(length=64), nullable=False),
        sa.Column("start", UTC_TIMESTAMP, nullable=False),
        sa.Column("end_time", UTC_TIMESTAMP, nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.CheckConstraint("end_time > start", name=op.f("ck_maintenance_window_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["site_name"],
            ["site.name"],
            name=op.f("fk_maintenance_window_site_name_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_window")),
    )
    with op.batch_alter_table("maintenance_window", schema=None) as batch_op:
        batch_op.create_index(
            "ix_maintenance_window_site_start", ["site_name", "start"], unique=False
        )

    op.create_table(
        "tile_observation",
        sa.Column("tile_id", sa.BigInteger(), nullable=False),
        sa.Column("obs_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["obs_id"],
            ["observation.obs_id"],
            name=op.f("fk_tile_observation_obs_id_observation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tile_id"],
            ["tile.tile_id"],
            name=op.f("fk_tile_observation_tile_id_tile"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tile_id", "obs_id", name=op.f("pk_tile_observation")),
    )
    with op.batch_alter_table("tile_observation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tile_observation_obs_id"), ["obs_id"], unique=False)

    op.create_table(
        "token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("site_name", sa.String(length=64), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created", UTC_TIMESTAMP, nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "role <> 'agent' OR site_name IS NOT NULL", name=op.f("ck_token_agent_has_site")
        ),
        sa.CheckConstraint(
            "role IN ('reader', 'planner', 'agent', 'admin')", name=op.f("ck_token_known_role")
        ),
        sa.ForeignKeyConstraint(["site_name"], ["site.name"], name=op.f("fk_token_site_name_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_token_token_hash")),
    )
    op.create_table(
        "generation",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["job.id"], name=op.f("fk_generation_job_id_job"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["data_product.product_id"],
            name=op.f("fk_generation_product_id_data_product"),
        ),
        sa.PrimaryKeyConstraint("job_id", "product_id", name=op.f("pk_generation")),
    )
    with op.batch_alter_table("generation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_generation_product_id"), ["product_id"], unique=False)

    op.create_table(
        "replica",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("site_name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("checked_at", UTC_TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "state IN ('AVAILABLE', 'COPYING', 'UNAVAILABLE', 'TEMPORARY_UNAVAILABLE', "
            "'BEING_DELETED', 'BAD')",
            name=op.f("ck_replica_known_state"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["data_product.product_id"],
            name=op.f("fk_replica_product_id_data_product"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_name"], ["site.name"], name=op.f("fk_replica_site_name_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replica")),
        sa.UniqueConstraint("product_id", "site_name", name="uq_replica_product_site"),
    )
    with op.batch_alter_table("replica", schema=None) as batch_op:
        batch_op.create_index("ix_replica_site_state", ["site_name", "state"], unique=False)

    op.create_table(
        "usage",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["job.id"], name=op.f("fk_usage_job_id_job"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["data_product.product_id"],
            name=op.f("fk_usage_product_id_data_product"),
        ),
        sa.PrimaryKeyConstraint("job_id", "product_id", name=op.f("pk_usage")),
    )
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_product_id"), ["product_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_product_id"))

    op.drop_table("usage")
    with op.batch_alter_table("replica", schema=None) as batch_op:
        batch_op.drop_index("ix_replica_site_state")

    op.drop_table("replica")
    with op.batch_alter_table("generation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generation_product_id"))

    op.drop_table("generation")
    op.drop_table("token")
    with op.batch_alter_table("tile_observation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tile_observation_obs_id"))

    op.drop_table("tile_observation")
    with op.batch_alter_table("maintenance_window", schema=None) as batch_op:
        batch_op.drop_index("ix_maintenance_window_site_start")

    op.drop_table("maintenance_window")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_state_lease_expiry")
        batch_op.drop_index("ix_job_site_state_priority")
        batch_op.drop_index(batch_op.f("ix_job_parent_job_id"))

    op.drop_table("job")
    with op.batch_alter_table("data_product", schema=None) as batch_op:
        batch_op.drop_index("ix_data_product_type_tile")
        batch_op.drop_index("ix_data_product_type_obs")
        batch_op.drop_index(batch_op.f("ix_data_product_tile_id"))
        batch_op.drop_index(batch_op.f("ix_data_product_obs_id"))
        batch_op.drop_index(
            "ix_data_product_metadata_gin",
            postgresql_using="gin",
            postgresql_ops={"metadata": "jsonb_path_ops"},
        )
        batch_op.drop_index(batch_op.f("ix_data_product_created"))

    op.drop_table("data_product")
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_assignment_plan_tile")
        batch_op.drop_index("ix_assignment_plan_site")
        batch_op.drop_index("ix_assignment_plan_obs")

    op.drop_table("assignment")
    with op.batch_alter_table("tile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tile_dec"))

    op.drop_table("tile")
    op.drop_table("site")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_status"))

    op.drop_table("plan")
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_observation_start"))
        batch_op.drop_index(batch_op.f("ix_observation_dec"))

    op.drop_table("observation")
