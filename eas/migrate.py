"""Schema migrations shipped inside the package: run programmatically, from any directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from eas.models import Base

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration shipped with this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never initialised."""
    path = engine.url.database
    if engine.dialect.name == "sqlite" and path and path != ":memory:" and not Path(path).exists():
        return None  # connecting would create an empty file as a side effect of a read
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to `revision` (creates the schema on an empty database)."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def schema_drift(engine: Engine) -> list[Any]:
    """Differences between the migrated database and the models (empty when in step)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


class SchemaError(RuntimeError):
    """The database is not initialised, or not at the schema this code needs."""


def check_schema(engine: Engine) -> None:
    """SchemaError unless the database is migrated to this package's head revision."""
    revision = current_revision(engine)
    where = engine.url.render_as_string(hide_password=True)
    if revision is None:
        raise SchemaError(f"the archive at {where} is not initialised; run `sdc archive init`")
    if revision != head_revision():
        raise SchemaError(
            f"the archive at {where} is at schema revision {revision}, this version needs "
            f"{head_revision()}; run `sdc archive upgrade`"
        )
