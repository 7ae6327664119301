"""Archive test fixtures: a clean, migrated archive on SQLite and on the real PostgreSQL.

Test modules take the fixtures by assignment (`archive_url = archive_support.archive_url`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from eas.core.tokens import create_token
from eas.db import make_engine, make_session_factory, transaction
from eas.loaders import load_sites
from eas.migrate import upgrade
from eas.models import Base
from eas.schemas import ObservationIn, ProductIn

REPO = Path(__file__).resolve().parents[1]
SITES_YAML = REPO / "config" / "sites.yaml"
PG_SCHEMA = "archive_tests"
EPOCH = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite archive, copied for each test (migrating once is faster)."""
    path = tmp_path_factory.mktemp("archive") / "template.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_archive_url(postgres_url: str) -> str:
    """The session's PostgreSQL database, archive tables in their own schema (migrated once)."""
    dsn = postgres_url.replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
    url = f"{postgres_url}?options=-csearch_path%3D{PG_SCHEMA}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated archive, on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "archive.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_archive_url")
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def sessions(archive_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on the test archive."""
    engine = make_engine(archive_url)
    yield make_session_factory(engine)
    engine.dispose()


def seed(sessions: sessionmaker[Session]) -> dict[str, str]:
    """Load the nine example sites and mint one token per role; returns role -> secret."""
    with transaction(sessions) as session:
        load_sites(session, SITES_YAML)
        tokens = {}
        for key, role, site in (
            ("reader", "reader", None),
            ("planner", "planner", None),
            ("admin", "admin", None),
            ("agent_fr", "agent", "SDC-FR"),
            ("agent_de", "agent", "SDC-DE"),
        ):
            tokens[key] = create_token(session, role, key, site)[1]
    return tokens


def observation(obs_id: int, ra: float = 10.0, dec: float = 0.0, hours: float = 0) -> ObservationIn:
    """An observation `hours` after the survey epoch."""
    return ObservationIn(
        obs_id=obs_id, start=EPOCH + timedelta(hours=hours), ra=ra, dec=dec, size_bytes=1000
    )


def product(product_id: str, product_type: str = "RAW_FRAME", **fields: object) -> ProductIn:
    """A product with a fixed checksum unless given."""
    values: dict[str, object] = {
        "product_id": product_id,
        "product_type": product_type,
        "version": "1.0",
        "size_bytes": 10,
        "adler32": "0a0b0c0d",
    }
    values.update(fields)
    return ProductIn.model_validate(values)


def mint(sessions: sessionmaker[Session], *specs: tuple[str, str, str | None]) -> dict[str, str]:
    """Tokens by key for (key, role, site) specs: `mint(s, ("fr", "agent", "SDC-FR"))`."""
    with transaction(sessions) as session:
        return {key: create_token(session, role, key, site)[1] for key, role, site in specs}
