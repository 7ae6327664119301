"""What the archive benchmarks (and others) share: servers and databases to run them
against, alternating rate comparisons, and CPU accounting per call."""

from __future__ import annotations

import io
import socket
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import psutil
import psycopg2
import requests

from sdc.settings import process_environment

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 5  # each comparison alternates ours and the baseline this many times


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served(NamedTuple):
    """A server started by `served`: where it listens and its process id."""

    url: str
    pid: int


@contextmanager
def served(command: list[str], env: dict[str, str]) -> Iterator[Served]:
    """Run a server subprocess on a free loopback port until the block ends."""
    port = _free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port)], cwd=REPO, env={**process_environment(), **env}
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url + "/openapi.json", timeout=1)
                break
            except (requests.ConnectionError, requests.Timeout):  # not up, or slow: loaded
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server {command} did not start") from None
                time.sleep(0.1)
        yield Served(url, process.pid)
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def _serving(command: list[str], env: dict[str, str]) -> Iterator[str]:
    """`served`, giving only the URL (what the other benchmarks use)."""
    with served(command, env) as server:
        yield server.url


@contextmanager
def _scratch_database(admin_dsn: str) -> Iterator[str]:
    name = f"sdc_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(admin_dsn)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_dsn.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def _copy(dsn: str, table: str, columns: str, rows: Iterator[str]) -> float:
    """COPY text rows into `table` over a new connection; returns seconds."""
    with psycopg2.connect(dsn) as connection:
        return _copy_on(connection, table, columns, rows)


def _copy_on(connection: Any, table: str, columns: str, rows: Iterator[str]) -> float:
    """COPY text rows into `table` and commit; returns seconds (formatting included)."""
    started = time.perf_counter()
    buffer = io.StringIO("".join(rows))
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)
    connection.commit()
    return time.perf_counter() - started


def _rate(call: Callable[[int], object], calls: int) -> float:
    started = time.perf_counter()
    for i in range(calls):
        call(i)
    return calls / (time.perf_counter() - started)


def _compare(
    ours: Callable[[int], object],
    baseline: Callable[[int], object],
    calls: int,
    rounds_count: int = ROUNDS,
) -> tuple[float, float, float]:
    """Medians of (our rate, baseline rate, their ratio) over alternating rounds.

    Alternating keeps the machine's changing load (it is shared) from favouring either side.
    """
    per_round = max(1, calls // rounds_count)
    ours(0), baseline(0)  # warm connections and caches
    rounds = [(_rate(ours, per_round), _rate(baseline, per_round)) for _ in range(rounds_count)]
    return (
        statistics.median(o for o, _ in rounds),
        statistics.median(b for _, b in rounds),
        statistics.median(o / b for o, b in rounds),
    )


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def _backends(dsn: str) -> list[int]:
    """Process ids of the PostgreSQL backends serving the database of `dsn` (but this one)."""
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def _cpu_per_call(call: Callable[[int], object], calls: int, pids: list[int]) -> float:
    """CPU milliseconds the processes `pids` spend per call (independent of the load)."""
    before = _cpu_seconds(pids)
    for i in range(calls):
        call(i)
    return (_cpu_seconds(pids) - before) / calls * 1000


def alternating_latencies(
    ours: Callable[[int], object], baseline: Callable[[int], object], pairs: int
) -> tuple[list[float], list[float]]:
    """Seconds of each call, ours and the baseline's taking turns one call at a time (sorted).

    On a shared machine a rate measures the load as much as the code; the fastest calls
    of each side, taken in turns, are the ones the load spared, and their percentiles come
    close to what a quiet machine gives.
    """
    ours_seconds, baseline_seconds = [], []
    for i in range(pairs):
        for call, seconds in ((ours, ours_seconds), (baseline, baseline_seconds)):
            started = time.perf_counter()
            call(i)
            seconds.append(time.perf_counter() - started)
    return sorted(ours_seconds), sorted(baseline_seconds)
