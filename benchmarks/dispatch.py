"""Dispatch benchmarks: each prints our figure, a baseline measured in the same run, the ratio.

1. No-op jobs end to end (create -> dispatch -> claim -> succeed) with 2 agents over Celery
   on Redis, against (a) a plain Celery app on Redis with acks_late and 2 prefork workers
   running the same no-op tasks and (b) a raw PostgreSQL `FOR UPDATE SKIP LOCKED` claim
   loop in 2 threads.
2. Bulk creation of job rows against a loop of Celery `apply_async`.

Run from the repository root:  python -m benchmarks.dispatch [--jobs 2000] [--rounds 3]
[--bulk 100000]
Needs PostgreSQL (127.0.0.1:5432, user postgres; a scratch database is created and dropped)
and Redis (127.0.0.1:6379, db 12 is used and flushed).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg2
import redis
from celery import Celery
from sqlalchemy import func, insert, select

from benchmarks.archive import REPO, UVICORN, _scratch_database, _serving
from eas.core.tokens import create_token
from eas.db import make_engine, make_session_factory, transaction
from eas.job_client import JobClient
from eas.job_schemas import JobPublic, JobReport, ReportAnswer
from eas.loaders import load_sites
from eas.migrate import upgrade
from eas.models import Job as JobRow
from metascheduler.config import SchedulerConfig
from metascheduler.loop import Scheduler
from sdc_agents.agent.queue_consumer import QueueConsumer
from sdc_agents.agent.reporter import FinishReporter

BROKER = "redis://127.0.0.1:6379/12"
BASELINE_QUEUE = "bench.noop"


@functools.cache
def baseline_app(broker: str) -> Celery:
    """The plain Celery app of the baseline: one no-op task that counts itself in Redis."""
    app = Celery("bench", broker=broker, set_as_current=False)
    app.conf.update(task_acks_late=True, task_ignore_result=True, worker_prefetch_multiplier=1)
    counter = redis.Redis.from_url(broker)

    @app.task(name="bench.noop", acks_late=True)
    def noop() -> None:
        counter.incr("bench:done")

    return app


def _wait(done: Callable[[], bool], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("benchmark did not finish in time")
        time.sleep(0.01)


def _job_rows(n: int) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    later = now + timedelta(days=3)
    return [{"pipeline": "noop", "primary_site": "SDC-FR", "ready_at": now, "deadline": later}] * n


def noop_agent(url: str, token: str, owner: str, concurrency: int) -> None:
    """One agent process until SIGTERM: the real Celery transport of `sdc agent run` (a
    `QueueConsumer` taking as many messages as it has free slots, claiming them in one call,
    started at once) and the agent's `FinishReporter`; the job itself does nothing, as the
    baseline's task. Says it is ready in Redis."""
    with JobClient(url, token) as client:
        finish_calls = [0]

        def finish_many(reports: list[JobReport]) -> list[ReportAnswer]:
            finish_calls[0] += 1
            return client.finish_many(reports)

        reporter = FinishReporter(finish_many)

        def finish(job: JobPublic) -> None:
            reporter.finish(
                JobReport(job_id=job.id, owner=owner, epoch=job.lease_epoch, succeeded=True)
            )

        def claim(job_ids: list[int]) -> list[JobPublic]:
            return client.claim_batch("SDC-FR", owner, len(job_ids), job_ids, start=True)

        agent = QueueConsumer("SDC-FR", BROKER, claim, finish, concurrency, idle_max=0.05)
        reporter.jobs_in_hand = agent.jobs_in_hand  # as `sdc agent run` wires it
        redis.Redis.from_url(BROKER).incr("bench:agents")
        agent.serve(handle_signals=True)
    print(f"  agent {owner}: {agent.counts}, finish calls {finish_calls[0]}", flush=True)


def ours_end_to_end(
    url: str, token: str, sqlalchemy_url: str, jobs: int, concurrency: int
) -> float:
    """Jobs/s: rows created, dispatched by the scheduler, claimed and finished by 2 agent
    processes (as the baseline's 2 worker processes)."""
    engine = make_engine(sqlalchemy_url)
    sessions = make_session_factory(engine)
    config = SchedulerConfig(transport="celery", broker_url=BROKER)
    counter = redis.Redis.from_url(BROKER)
    counter.delete("bench:agents")
    agents = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.dispatch",
                "--agent",
                f"bench-{i}",
                "--url",
                url,
                "--token",
                token,
                "--concurrency",
                str(concurrency),
            ],
            cwd=REPO,
        )  # fmt: skip
        for i in range(2)
    ]
    try:
        _wait(lambda: int(counter.get("bench:agents") or 0) == 2, 120)
        succeeded = select(func.count()).select_from(JobRow).where(JobRow.state == "SUCCEEDED")
        with sessions() as session:
            target = (session.scalar(succeeded) or 0) + jobs  # earlier rounds' jobs included
        started = time.perf_counter()
        with transaction(sessions) as session:
            session.execute(insert(JobRow), _job_rows(jobs))
        Scheduler(sessions, config).run_once()
        dispatched = time.perf_counter() - started

        def finished() -> bool:
            with sessions() as session:
                return session.scalar(succeeded) == target

        _wait(finished)
        elapsed = time.perf_counter() - started
    finally:
        for agent in agents:
            agent.terminate()
            agent.wait(60)
        engine.dispose()
    print(f"  ours: created and dispatched in {dispatched:.2f} s, all done in {elapsed:.2f} s")
    return jobs / elapsed


def celery_end_to_end(jobs: int) -> float:
    """Tasks/s of the plain Celery app: apply_async, 2 prefork workers, acks_late."""
    counter = redis.Redis.from_url(BROKER)
    counter.delete("bench:done")
    worker = subprocess.Popen([sys.executable, "-m", "benchmarks.dispatch", "--worker"], cwd=REPO)
    try:
        app = baseline_app(BROKER)
        time.sleep(5)  # the workers are up (a warm-up task is counted out below)
        app.send_task("bench.noop", queue=BASELINE_QUEUE)
        _wait(lambda: int(counter.get("bench:done") or 0) == 1, 60)
        started = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for _ in range(jobs):
                app.send_task("bench.noop", queue=BASELINE_QUEUE, producer=producer)
        _wait(lambda: int(counter.get("bench:done") or 0) == jobs + 1)
        return jobs / (time.perf_counter() - started)
    finally:
        worker.terminate()
        worker.wait(30)


def skip_locked_end_to_end(dsn: str, jobs: int) -> float:
    """Jobs/s of a raw PostgreSQL claim loop: insert, 2 threads claim (SKIP LOCKED), finish."""
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_job")
        cursor.execute("CREATE TABLE bench_job (id serial PRIMARY KEY, state text NOT NULL)")
    started = time.perf_counter()
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_job (state) SELECT 'QUEUED' FROM generate_series(1, %s)", (jobs,)
        )

    def work() -> None:
        connection = psycopg2.connect(dsn)
        with connection.cursor() as cursor:
            while True:
                cursor.execute(
                    "UPDATE bench_job SET state = 'CLAIMED' WHERE id = (SELECT id FROM bench_job "
                    "WHERE state = 'QUEUED' ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) "
                    "RETURNING id"
                )
                row = cursor.fetchone()
                connection.commit()
                if row is None:
                    break
                cursor.execute("UPDATE bench_job SET state = 'SUCCEEDED' WHERE id = %s", row)
                connection.commit()
        connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return jobs / (time.perf_counter() - started)


def bulk_creation(sqlalchemy_url: str, count: int) -> float:
    """Job rows/s created in one bulk insert (what the scheduler does for a batch)."""
    engine = make_engine(sqlalchemy_url)
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    with transaction(sessions) as session:
        session.execute(insert(JobRow), _job_rows(count))
    rate = count / (time.perf_counter() - started)
    engine.dispose()
    return rate


def apply_async_loop(count: int) -> float:
    """Messages/s of a loop of Celery `apply_async` (no worker: only the sending)."""
    app = baseline_app(BROKER)
    task = app.tasks["bench.noop"]
    started = time.perf_counter()
    for _ in range(count):
        task.apply_async(queue="bench.sink")
    rate = count / (time.perf_counter() - started)
    redis.Redis.from_url(BROKER).delete("bench.sink")
    return rate


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _round(
    i: int, url: str, token: str, dsn: str, sqlalchemy_url: str, jobs: int, concurrency: int
) -> tuple[float, float, float]:
    """One round of the three end-to-end runs; odd rounds run the baselines first, so the
    machine's changing load favours neither side."""
    runs: list[Callable[[], float]] = [
        lambda: ours_end_to_end(url, token, sqlalchemy_url, jobs, concurrency),
        lambda: celery_end_to_end(jobs),
        lambda: skip_locked_end_to_end(dsn, jobs),
    ]
    order = [0, 1, 2] if i % 2 == 0 else [2, 1, 0]
    load = _load()
    rates = dict(zip(order, (runs[k]() for k in order), strict=True))
    ours, plain, raw = rates[0], rates[1], rates[2]
    print(
        f"round {i + 1} (load {load} -> {_load()}): ours {ours:,.0f}/s, plain Celery "
        f"{plain:,.0f}/s ({ours / plain:.2f}), SKIP LOCKED {raw:,.0f}/s ({ours / raw:.2f})",
        flush=True,
    )
    return ours, plain, raw


def main() -> None:
    """Parse arguments, build the scratch archive, run the benchmarks, print ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000, help="no-op jobs end to end")
    parser.add_argument("--bulk", type=int, default=100_000, help="jobs created in bulk")
    parser.add_argument("--apply-async", type=int, default=10_000, help="apply_async calls")
    parser.add_argument(
        "--concurrency", type=int, default=32, help="job slots of each of our 2 agents"
    )
    parser.add_argument("--rounds", type=int, default=3, help="end-to-end rounds (medians)")
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--agent", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.agent:  # one of our 2 agent processes
        noop_agent(args.url, args.token, args.agent, args.concurrency)
        return
    if args.worker:  # the baseline's 2 prefork workers
        baseline_app(BROKER).worker_main(
            ["worker", "-c", "2", "-P", "prefork", "-Q", BASELINE_QUEUE, "-l", "warning",
             "--without-gossip", "--without-mingle", "--without-heartbeat"]
        )  # fmt: skip
        return
    redis.Redis.from_url(BROKER).flushdb()
    with _scratch_database(args.admin_dsn) as dsn:
        sqlalchemy_url = dsn.replace("postgresql://", "postgresql+psycopg2://")
        engine = make_engine(sqlalchemy_url)
        upgrade(engine)
        sessions = make_session_factory(engine)
        with transaction(sessions) as session:
            load_sites(session, REPO / "config" / "sites.yaml")
            token = create_token(session, "agent", "bench", "SDC-FR")[1]
        engine.dispose()
        server = [sys.executable, "-m", "sdc", "server", "--host", "127.0.0.1", *UVICORN]
        with _serving(server, {"SDC_DATABASE_URL": sqlalchemy_url}) as url:
            rounds = [
                _round(i, url, token, dsn, sqlalchemy_url, args.jobs, args.concurrency)
                for i in range(args.rounds)
            ]
        ours, plain, raw = (statistics.median(r[k] for r in rounds) for k in range(3))
        print(
            f"no-op jobs end to end, {args.jobs} jobs, 2 agents ({args.concurrency} slots "
            f"each), medians of {args.rounds} rounds (load {_load()}): ours {ours:,.0f} "
            f"jobs/s; plain Celery (Redis, acks_late, 2 prefork) {plain:,.0f}/s, ratio "
            f"{ours / plain:.2f} (target >= 1.0); raw SKIP LOCKED loop {raw:,.0f}/s, ratio "
            f"{ours / raw:.2f} (target >= 0.5)"
        )
        bulk = bulk_creation(sqlalchemy_url, args.bulk)
    sending = apply_async_loop(args.apply_async)
    print(
        f"job creation: bulk insert of {args.bulk:,} jobs {bulk:,.0f} jobs/s; apply_async "
        f"loop ({args.apply_async:,} calls) {sending:,.0f}/s; ratio {bulk / sending:.1f} "
        "(target >= 5)"
    )
    redis.Redis.from_url(BROKER).flushdb()


if __name__ == "__main__":
    main()
