"""Session-wide fixtures: a fresh PostgreSQL database and a real Rucio server per test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.rucio_server import RucioServer, running_rucio_server
from tests.services import port_open, require

PG_HOST = os.environ.get("SDC_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SDC_TEST_PG_PORT", "5432"))
PG_ADMIN_DB = os.environ.get("SDC_TEST_PG_DB", "test")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session; dropped afterwards."""
    require(port_open(PG_HOST, PG_PORT), f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}")
    import psycopg2

    name = f"sdc_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, dbname=PG_ADMIN_DB, user="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture(scope="session")
def rucio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RucioServer]:
    """The real Rucio 41.5.1 server (tests/rucio-local.sh) on a fresh database, started once
    per session with scope `euclid`, RSEs SDC-DE_DISK and SDC-FR_DISK (posix, quota), and
    removed afterwards; skips locally / fails under CI=true when it cannot start."""
    with running_rucio_server(tmp_path_factory.mktemp("rucio")) as server:
        yield server
