"""kill -9 a real `sdc agent run --transport celery` mid-job, again and again: every job ends
in exactly one terminal state, no product is registered twice, no partial file is visible.

Real servers (archive + scheduler API on PostgreSQL, SDC-FR's DSS), real RabbitMQ, a tiny
one-step pipeline that takes a moment, short leases; the scheduler's reaper (run with a
clock past the lease) hands each killed agent's job back, the reconciler republishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dss.client import StorageClient
from eas.db import transaction
from eas.job_client import JobClient
from eas.models import Generation
from eas.models import Job as JobRow
from metascheduler.config import SchedulerConfig
from metascheduler.loop import Scheduler
from tests import archive_support
from tests.integration.test_agent_end_to_end import World, world
from tests.integration.test_celery_dispatch import BROKERS, _drop_queues
from tests.services import port_open, require

archive_url = archive_support.archive_url
sessions = archive_support.sessions
sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url
__all__ = ["world"]

KILLS = 20
PKGDEF = """from euclidwf.framework.workflow_dsl import (
    ComputingResources, Executable, Input, Output,
)

stamp = Executable(
    command="./stamp.py",
    inputs=[Input("seed")],
    outputs=[Output("stamped", mime_type="json")],
    resources=ComputingResources(cores=1, ram=0.1, walltime=0.1),
)
"""
SCRIPT = """from tiny_pkgdef import stamp

from euclidwf.framework.workflow_dsl import pipeline


@pipeline(outputs=("stamped",))
def tiny(seed):
    stamped = stamp(seed=seed)
    return stamped
"""
COMMAND = """import argparse, json, time
parser = argparse.ArgumentParser()
for port in ("seed", "stamped", "workdir", "logdir"):
    parser.add_argument(f"--{port}", required=True)
ports = parser.parse_args()
time.sleep(0.5)  # long enough to be killed in the middle
with open(ports.stamped, "w") as out:
    json.dump({"seed": open(ports.seed).read()}, out)
"""


@pytest.fixture
def agent_config(world: World, tmp_path: Path) -> Iterator[Path]:
    """An agent settings file for SDC-FR: the tiny pipeline, short heartbeats, RabbitMQ."""
    url, port = BROKERS["rabbitmq"]
    require(port_open("127.0.0.1", port), f"rabbitmq is not running on port {port}")
    _drop_queues(url)
    pipe = tmp_path / "tiny"
    pipe.mkdir()
    (pipe / "tiny_pkgdef.py").write_text(PKGDEF)
    (pipe / "tiny_pipeline.py").write_text(SCRIPT)
    (pipe / "stamp.py").write_text(COMMAND)
    (pipe / "seed.txt").write_text("tiny")
    agent = {
        "site": "SDC-FR", "token": world.tokens["fr"], "archive_url": world.archive,
        "dss_url": world.dss["SDC-FR"], "workroot": str(tmp_path / "work"),
        "heartbeat_seconds": 0.3, "poll_seconds": 0.2, "transport": "celery",
        "broker_url": url,
        "pipelines": {
            "tiny": {
                "script": str(pipe / "tiny_pipeline.py"),
                "inputs": {"seed": str(pipe / "seed.txt")},
                "outputs": {"stamped": "QUALITY_REPORT"},
            }
        },
    }  # fmt: skip
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump({"agent": agent}))
    yield path
    _drop_queues(url)


def _agent(config: Path, cwd: Path) -> subprocess.Popen[bytes]:
    sdc = Path(sys.executable).with_name("sdc")
    with (cwd / "agent.log").open("ab") as log:
        return subprocess.Popen(
            [str(sdc), "--config", str(config), "agent", "run"],
            cwd=cwd, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip


def _count(sessions: sessionmaker[Session], *where: object) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(JobRow).where(*where)) or 0)


def _until(done: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("archive_url", ["postgresql"], indirect=True)
def test_kill_9_mid_job_twenty_times(world: World, agent_config: Path, tmp_path: Path) -> None:
    sessions = world.sessions
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        session.add_all(
            JobRow(
                pipeline="tiny",
                primary_site="SDC-FR",
                ready_at=now,
                deadline=now + timedelta(days=3),
                parameters={"n": i},
            )  # fmt: skip
            for i in range(KILLS)
        )
    config = SchedulerConfig(
        transport="celery", broker_url=BROKERS["rabbitmq"][0],
        max_attempts=KILLS + 5, backoff_first_seconds=0, backoff_max_seconds=0,
    )  # fmt: skip
    scheduler = Scheduler(sessions, config)
    assert scheduler.run_once().dispatched == {"SDC-FR": KILLS}
    # the reaper, run with a clock past any lease the API granted (its default lease)
    past_lease = timedelta(seconds=SchedulerConfig().lease_seconds + 5)
    later = Scheduler(sessions, config, clock=lambda: datetime.now(UTC) + past_lease)
    for _ in range(KILLS):
        agent = _agent(agent_config, tmp_path)
        try:
            _until(lambda: _count(sessions, JobRow.state == "RUNNING") > 0, 30)
        finally:
            os.kill(agent.pid, signal.SIGKILL)
            agent.wait()
        # the dead agent's lease is over: back to QUEUED, published again
        cycle = later.run_once()
        with sessions() as session:
            seen = session.execute(select(JobRow.id, JobRow.state, JobRow.lease_expiry)).all()
        assert cycle.reclaimed == 1, (seen, datetime.now(UTC))
    # the survivor takes 4 jobs at a time (the killed ones took one, so each kill hit one job)
    settings = yaml.safe_load(agent_config.read_text())
    settings["agent"]["concurrency"] = 4
    survivor_config = tmp_path / "survivor.yaml"
    survivor_config.write_text(yaml.safe_dump(settings))
    survivor = _agent(survivor_config, tmp_path)
    try:
        _until(lambda: _count(sessions, JobRow.state == "SUCCEEDED") == KILLS, 60)
    finally:
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(30) == 0  # SIGTERM drains and exits 0
    assert _count(sessions) == KILLS
    assert _count(sessions, JobRow.state == "SUCCEEDED") == KILLS
    assert _count(sessions, JobRow.attempts > 1) > 0  # kills really hit jobs
    with sessions() as session:
        generated = session.execute(select(Generation.job_id, Generation.product_id)).all()
    products = [product for _, product in generated]
    assert len(products) == len(set(products)) == KILLS  # one product per job, never twice
    with JobClient(world.archive, world.tokens["fr"]) as jobs:
        registered = jobs.query_products(type="QUALITY_REPORT", limit=100).items
        assert len(registered) == KILLS
        with StorageClient(world.dss["SDC-FR"], world.tokens["fr"]) as fr:
            stored = {stat.path: stat for stat in fr.list()}
        paths = set()
        for product in registered:
            (replica,) = jobs.list_replicas(product_id=product.product_id)
            path = replica.url.partition("/api/v1/files/")[2]
            paths.add(path)
            assert (stored[path].size, stored[path].adler32) == (
                product.size_bytes, product.adler32,
            )  # fmt: skip
    assert set(stored) == paths  # no partial or orphaned file is visible in the storage
