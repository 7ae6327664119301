"""Celery dispatch on the real brokers (RabbitMQ and Redis) against the real scheduler API on
PostgreSQL: racing agents, lost messages and the reconciler, ack-before-run, site fencing.

The agents here are real `QueueConsumer`s whose job is a no-op (claim, then finish): what is
tested is the transport and the row claims. The tests use the seeded sites' own queues
(`site.SDC-FR`, ...), which only these tests use on this machine; each test empties them
first and after, so a purge here touches nothing of anyone else.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import redis
from kombu import Connection
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from eas.core.tokens import create_token
from eas.db import transaction
from eas.errors import Forbidden
from eas.job_client import JobClient
from eas.job_schemas import JobOutcome, JobPublic, site_queue
from eas.models import Job as JobRow
from eas.schemas import ProductIn, ReplicaIn
from metascheduler.config import SchedulerConfig
from metascheduler.dispatch import CeleryDispatcher
from metascheduler.loop import Scheduler
from sdc.composition import server_app
from sdc.settings import Settings
from sdc_agents.agent.queue_consumer import QueueConsumer, job_queue
from tests import archive_support
from tests.contract.test_scheduler_store import survey_with_plan
from tests.dss_fixtures import serving
from tests.services import port_open, require

archive_url = archive_support.archive_url
sessions = archive_support.sessions
sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url

BROKERS = {
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", 5672),
    "redis": ("redis://127.0.0.1:6379/11", 6379),  # db 11: these tests' own
}
SITES = ("SDC-FR", "SDC-DE")
on_postgresql = pytest.mark.parametrize("archive_url", ["postgresql"], indirect=True)


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> Iterator[str]:
    """A broker URL with this test's site queues empty (emptied again afterwards)."""
    url, port = BROKERS[request.param]
    require(port_open("127.0.0.1", port), f"{request.param} is not running on port {port}")
    _drop_queues(url)
    yield url
    _drop_queues(url)


def _drop_queues(url: str) -> None:
    # Purged, not deleted: a publisher of this process remembers it declared the queue.
    with Connection(url) as connection:
        for site in SITES:
            queue = job_queue(site)(connection.default_channel)
            queue.declare()
            queue.purge()


def _waiting(url: str, site: str) -> int:
    """Messages ready on the site's queue."""
    with Connection(url) as connection:
        queue = job_queue(site)(connection.default_channel)
        return int(queue.queue_declare().message_count)


@pytest.fixture
def server(archive_url: str, sessions: sessionmaker[Session]) -> Iterator[tuple[str, dict]]:
    survey_with_plan(sessions)
    with sessions() as session:
        tokens = {
            key: create_token(session, "agent", key, site)[1]
            for key, site in (("fr", "SDC-FR"), ("de", "SDC-DE"))
        }
        session.commit()
    app = server_app(Settings(database_url=archive_url))
    with serving(app) as url:
        yield url, tokens
    app.state.engine.dispose()


def add_jobs(sessions: sessionmaker[Session], n: int) -> list[int]:
    """`n` ready no-op jobs planned at SDC-FR (secondary SDC-DE), not yet dispatched."""
    now = datetime.now(UTC)
    rows = [
        JobRow(
            pipeline="noop",
            primary_site="SDC-FR",
            secondary_site="SDC-DE",
            ready_at=now,
            deadline=now + timedelta(days=3),
        )  # fmt: skip
        for _ in range(n)
    ]
    with transaction(sessions) as session:
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def queued_in_one_message(sessions: sessionmaker[Session], broker: str, n: int) -> None:
    """`n` jobs queued at SDC-FR, all named by one message on its queue."""
    config = SchedulerConfig(transport="celery", broker_url=broker, ids_per_message=n)
    add_jobs(sessions, n)
    assert Scheduler(sessions, config).run_once().dispatched == {"SDC-FR": n}
    assert _waiting(broker, "SDC-FR") == 1


def noop_agent(jobs: JobClient, broker: str, owner: str, run: Callable[[JobPublic], object]
               | None = None, concurrency: int = 1,
               claim: Callable[[list[int]], list[JobPublic]] | None = None
               ) -> QueueConsumer:  # fmt: skip
    """A real consumer of SDC-FR's queue whose jobs succeed at once (or run `run` first);
    it claims with `claim` when given, else with `jobs`."""

    def finish(job: JobPublic) -> None:
        if run is not None:
            run(job)
        jobs.finish(job.id, JobOutcome(owner=owner, epoch=job.lease_epoch, succeeded=True))

    return QueueConsumer(
        "SDC-FR", broker,
        claim or (lambda ids: jobs.claim_batch("SDC-FR", owner, len(ids), ids, start=True)),
        finish,
        concurrency, idle_max=0.1,
    )  # fmt: skip


@contextmanager
def racing_agents(url: str, token: str, broker: str) -> Iterator[list[QueueConsumer]]:
    """Two no-op agents of SDC-FR, each with its own client and 8 slots, so that claims of up
    to 8 named jobs race (and single ones, as slots free); stopped when the block ends."""
    with JobClient(url, token) as one, JobClient(url, token) as two:
        agents = [
            noop_agent(client, broker, f"agent-{i}", concurrency=8)
            for i, client in enumerate((one, two), 1)
        ]
        for agent in agents:
            agent.start()
        try:
            yield agents
        finally:
            for agent in agents:
                agent.stop()
                agent.join()


def until(done: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def states(sessions: sessionmaker[Session]) -> list[tuple[str, int, int]]:
    """(state, lease epoch, attempts) of every job: one claim each means epoch 1, attempt 1."""
    with sessions() as session:
        rows = session.execute(select(JobRow.state, JobRow.lease_epoch, JobRow.attempts))
        return [tuple(row) for row in rows]  # type: ignore[misc]


@on_postgresql
@pytest.mark.parametrize("broker", ["rabbitmq"], indirect=True)  # one broker: keep it short
def test_two_agents_race_for_1000_jobs_each_claimed_once(
    server: tuple[str, dict], sessions: sessionmaker[Session], broker: str
) -> None:
    url, tokens = server
    ids = add_jobs(sessions, 1000)
    config = SchedulerConfig(transport="celery", broker_url=broker)
    assert Scheduler(sessions, config).run_once().dispatched == {"SDC-FR": 1000}
    CeleryDispatcher(config).publish("SDC-FR", ids)  # every job announced twice
    with racing_agents(url, tokens["fr"], broker) as agents:
        until(lambda: sum(a.counts.claimed + a.counts.dropped for a in agents) == 2000, 60)
    assert states(sessions) == [("SUCCEEDED", 1, 1)] * 1000
    assert sum(a.counts.claimed for a in agents) == 1000
    assert all(a.counts.claimed > 0 for a in agents), [a.counts for a in agents]
    assert _waiting(broker, "SDC-FR") == 0


@on_postgresql
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_lost_messages_are_republished_and_no_job_is_lost(
    server: tuple[str, dict], sessions: sessionmaker[Session], broker: str
) -> None:
    url, tokens = server
    add_jobs(sessions, 500)
    now = datetime.now(UTC)
    clock = [now]
    config = SchedulerConfig(transport="celery", broker_url=broker, republish_seconds=60)
    scheduler = Scheduler(sessions, config, clock=lambda: clock[0])
    assert scheduler.run_once().dispatched == {"SDC-FR": 500}
    assert _waiting(broker, "SDC-FR") == -(-500 // config.ids_per_message)  # batches of ids
    # the broker loses every message (as a restart loses non-persisted ones)
    with Connection(broker) as connection:
        job_queue("SDC-FR")(connection.default_channel).purge()
    assert _waiting(broker, "SDC-FR") == 0
    clock[0] = now + timedelta(seconds=30)
    assert scheduler.run_once().republished == 0  # not yet due
    clock[0] = now + timedelta(seconds=61)
    assert scheduler.run_once().republished == 500
    with racing_agents(url, tokens["fr"], broker) as agents:
        until(lambda: sum(a.counts.claimed for a in agents) == 500, 60)
    assert states(sessions) == [("SUCCEEDED", 1, 1)] * 500
    assert scheduler.run_once().republished == 0  # nothing is QUEUED any more


def _unacked(broker: str, site: str) -> int:
    """Messages the broker has delivered and still waits an ack for."""
    if broker.startswith("redis"):
        return int(redis.Redis.from_url(broker).hlen("unacked"))
    require(shutil.which("rabbitmqctl") is not None, "rabbitmqctl is needed to count unacked")
    listing = subprocess.run(
        ["rabbitmqctl", "list_queues", "-q", "name", "messages_unacknowledged"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    counts = dict(line.split() for line in listing.stdout.splitlines() if line.strip())
    return int(counts.get(site_queue(site), 0))


@on_postgresql
def test_a_job_longer_than_the_consumer_timeout_completes_once(
    server: tuple[str, dict], sessions: sessionmaker[Session], broker: str
) -> None:
    """RabbitMQ here is 3.10, without the `x-consumer-timeout` queue argument, so the test
    proves the ack-first design: while the job runs, the broker holds no unacked message
    that a consumer timeout (RabbitMQ) or visibility timeout (Redis) could redeliver."""
    url, tokens = server
    add_jobs(sessions, 1)
    Scheduler(sessions, SchedulerConfig(transport="celery", broker_url=broker)).run_once()
    seen: list[int] = []
    running, release = threading.Event(), threading.Event()

    def long_job(job: JobPublic) -> None:
        seen.append(job.id)
        running.set()
        assert release.wait(30)

    with JobClient(url, tokens["fr"]) as one, JobClient(url, tokens["fr"]) as two:
        # the second agent would take the message if the broker redelivered it
        agents = [noop_agent(c, broker, f"agent-{c is one}", long_job) for c in (one, two)]
        for agent in agents:
            agent.start()
        assert running.wait(30)
        unacked_while_running = _unacked(broker, "SDC-FR")
        release.set()
        until(lambda: states(sessions)[0][0] == "SUCCEEDED", 30)
        for agent in agents:
            agent.stop()
            agent.join()
    assert unacked_while_running == 0
    assert len(seen) == 1 and states(sessions) == [("SUCCEEDED", 1, 1)]
    assert _waiting(broker, "SDC-FR") == 0


@pytest.mark.parametrize("archive_url", ["postgresql"], indirect=True)
def test_a_site_a_token_cannot_claim_heartbeat_or_register_for_site_b(
    server: tuple[str, dict], sessions: sessionmaker[Session]
) -> None:
    url, tokens = server
    (job_id,) = add_jobs(sessions, 1)
    Scheduler(sessions, SchedulerConfig()).run_once()
    with JobClient(url, tokens["fr"]) as fr, JobClient(url, tokens["de"]) as de:
        with pytest.raises(Forbidden):
            de.claim_job(job_id, "SDC-FR", "agent-de")
        with pytest.raises(Forbidden):
            de.claim("SDC-FR", "agent-de")
        assert de.claim_job(job_id, "SDC-DE", "agent-de") is None  # queued at FR, not DE
        job = fr.claim_job(job_id, "SDC-FR", "agent-fr")
        assert job is not None and job.lease_epoch == 1
        assert fr.claim_job(job_id, "SDC-FR", "agent-fr") is None  # claimed once only
        with pytest.raises(Forbidden):
            de.heartbeat(job_id, "agent-fr", 1)
        with pytest.raises(Forbidden):
            de.finish(job_id, JobOutcome(owner="agent-fr", epoch=1, succeeded=True))
        product = ProductIn(
            product_id="P-1", product_type="CALIBRATED_FRAME", version="1", size_bytes=1,
            adler32="00000001",
        )  # fmt: skip
        fr.register_product(product)
        with pytest.raises(Forbidden):
            de.add_replica("P-1", ReplicaIn(site="SDC-FR", url="file:///fr/P-1"))
        fr.heartbeat(job_id, "agent-fr", 1)  # the rightful holder is unaffected


@pytest.mark.parametrize("archive_url", ["sqlite"], indirect=True)
def test_an_unreachable_broker_is_an_alert_and_the_jobs_are_published_later(
    sessions: sessionmaker[Session],
) -> None:
    survey_with_plan(sessions)
    add_jobs(sessions, 2)
    nowhere = SchedulerConfig(transport="celery", broker_url="amqp://guest:s3cret@127.0.0.1:9//")
    report = Scheduler(sessions, nowhere).run_once()
    assert report.dispatched == {} and "cannot publish to site.SDC-FR" in report.alerts[0]
    assert report.unannounced == 2
    assert "s3cret" not in report.alerts[0]  # alerts are printed and logged
    assert [state for state, _, _ in states(sessions)] == ["QUEUED", "QUEUED"]


def test_an_agent_logs_an_unreachable_broker_without_its_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent = QueueConsumer(
        "SDC-FR", "amqp://guest:s3cret@127.0.0.1:9//", lambda ids: [], print, idle_max=0.1
    )
    with caplog.at_level(logging.WARNING, logger="sdc_agents.agent.queue_consumer"):
        agent.start()
        until(lambda: any("reconnecting" in r.getMessage() for r in caplog.records), 30)
        agent.stop()
        agent.join()
    shown = caplog.records[0].getMessage()
    assert "amqp://guest:**@127.0.0.1:9//" in shown and "s3cret" not in shown


@on_postgresql
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_jobs_a_message_names_beyond_the_free_slots_are_given_back_and_run_once(
    server: tuple[str, dict], sessions: sessionmaker[Session], broker: str
) -> None:
    url, tokens = server
    queued_in_one_message(sessions, broker, 5)
    release = threading.Event()
    with JobClient(url, tokens["fr"]) as jobs:
        agent = noop_agent(jobs, broker, "agent-1", lambda _: release.wait(30), concurrency=2)
        agent.start()
        until(lambda: agent.counts.claimed == 2, 30)
        # 2 slots: 2 jobs claimed, the 3 others published again in one message, none held
        assert (agent.counts.returned, _waiting(broker, "SDC-FR")) == (3, 1)
        assert _unacked(broker, "SDC-FR") == 0
        release.set()
        until(lambda: agent.counts.claimed == 5, 30)
        agent.stop()
        agent.join()
    assert states(sessions) == [("SUCCEEDED", 1, 1)] * 5
    assert agent.counts.dropped == 0 and _waiting(broker, "SDC-FR") == 0


@on_postgresql
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_a_refused_claim_still_gives_back_the_jobs_beyond_the_free_slots(
    server: tuple[str, dict], sessions: sessionmaker[Session], broker: str
) -> None:
    url, tokens = server
    queued_in_one_message(sessions, broker, 5)
    with JobClient(url, tokens["fr"]) as fr, JobClient(url, tokens["de"]) as de:
        claims: list[str] = []

        def claim(ids: list[int]) -> list[JobPublic]:
            # the first claim is sent with SDC-DE's token: the server refuses it (403)
            client = de if not claims else fr
            claims.append("de" if client is de else "fr")
            return client.claim_batch("SDC-FR", "agent-1", len(ids), ids, start=True)

        agent = noop_agent(fr, broker, "agent-1", concurrency=2, claim=claim)
        agent.start()
        until(lambda: agent.counts.claimed == 3, 30)
        agent.stop()
        agent.join()
    # the 2 refused jobs are dropped (QUEUED, for the reconciler); the 3 others came back
    assert claims[0] == "de" and (agent.counts.dropped, agent.counts.returned) == (2, 4)
    assert sorted(state for state, _, _ in states(sessions)) == ["QUEUED"] * 2 + ["SUCCEEDED"] * 3
    assert _waiting(broker, "SDC-FR") == 0 and _unacked(broker, "SDC-FR") == 0


@on_postgresql
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_a_message_naming_no_job_is_rejected_and_the_next_runs(
    server: tuple[str, dict], sessions: sessionmaker[Session], broker: str
) -> None:
    url, tokens = server
    with Connection(broker) as connection:
        queue = job_queue("SDC-FR")(connection.default_channel)
        publish = connection.Producer().publish
        target = {"exchange": queue.exchange, "routing_key": queue.routing_key, "declare": [queue]}
        publish("not json{", content_type="application/json", content_encoding="utf-8",
                headers={"task": "sdc.run_job"}, **target)  # fmt: skip
        publish([[1], {}, {}], serializer="json", headers={"task": "other.task"}, **target)
    add_jobs(sessions, 1)
    Scheduler(sessions, SchedulerConfig(transport="celery", broker_url=broker)).run_once()
    with JobClient(url, tokens["fr"]) as jobs:
        agent = noop_agent(jobs, broker, "agent-1")
        agent.start()
        until(lambda: agent.counts.claimed == 1, 30)
        agent.stop()
        agent.join()
    assert agent.counts.rejected == 2
    assert states(sessions) == [("SUCCEEDED", 1, 1)]
