"""`sdc demo` on the real services: the archive on PostgreSQL, jobs announced over Celery on
Redis, one agent per site consuming its queue `site.<SDC>` (killed and restarted mid-run)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import redis
from sqlalchemy import func, select

from eas.db import make_engine, make_session_factory
from eas.models import DataProduct, Job
from tests.acceptance.cli import run_sdc_group
from tests.services import port_open, require

# Redis database 13 is this test's own (the Celery integration tests use 11, the dispatch
# benchmark 12): the demo's queues are the real `site.<SDC>` ones, and any other consumer of
# them on the same database would take the demo's messages.
BROKER = "redis://127.0.0.1:6379/13"
SCHEMA = "demo_celery"
SITES = ("SDC-FR", "SDC-IT", "SDC-DE")


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    """A `postgresql://` URL (no driver named: the demo picks it) on an empty schema."""
    dsn = postgres_url.replace("postgresql+psycopg2://", "postgresql://")
    connection = psycopg2.connect(dsn)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {SCHEMA}")
    yield f"{dsn}?options=-csearch_path%3D{SCHEMA}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    connection.close()


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """This test's empty Redis database."""
    require(port_open("127.0.0.1", 6379), "Redis is not running on port 6379")
    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.broker
def test_demo_on_postgresql_over_celery(database: str, broker: redis.Redis, tmp_path: Path) -> None:
    workspace = tmp_path / "demo"
    result = run_sdc_group(
        "demo", "--days", "1", "--sites", "3", "--no-serve", "--keep", str(workspace),
        "--database-url", database, "--transport", "celery", "--broker-url", BROKER,
        cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "archive: postgresql+psycopg2://" in out
    assert f"dispatch: Celery via {BROKER}" in out
    assert "entered maintenance" in out and "failed over" in out
    killed = re.search(r"killed the agent of (\S+) \(kill -9\) while it ran job (\d+)", out)
    assert killed is not None, out[-3000:]
    assert "failed jobs" in out and "none" in out
    # every site's queue was declared on this broker: the agents consumed it, not HTTP
    bindings = {key.decode() for key in broker.keys("_kombu.binding.site.*")}
    assert bindings == {f"_kombu.binding.site.{site}" for site in SITES}

    engine = make_engine(database.replace("postgresql://", "postgresql+psycopg2://"))
    with make_session_factory(engine)() as session:
        states = dict(session.execute(select(Job.state, func.count()).group_by(Job.state)).all())
        rerun = session.get(Job, int(killed.group(2)))
        calibrated = session.execute(
            select(func.count(), func.count(func.distinct(DataProduct.obs_id))).where(
                DataProduct.product_type == "CALIBRATED_FRAME"
            )
        ).one()
    engine.dispose()
    assert set(states) == {"SUCCEEDED"} and states["SUCCEEDED"] > 0
    assert rerun is not None and rerun.attempts >= 2 and rerun.lease_epoch >= 2
    assert calibrated[0] == calibrated[1] > 0  # the killed agent's job left no duplicate
