"""The Celery transport of the site agent: consume `site.<SDC>`, claim the named job, ack.

A message only names a job (a Celery task `JOB_TASK(job_id)` sent by the scheduler). Per
message the consumer claims **that job's row** through the scheduler API, acks at once and
only then runs the job, so no message is ever held while a pipeline runs (RabbitMQ's
consumer timeout, Redis's visibility timeout cannot fire on it). A message for a job that is
no longer QUEUED at this site claims nothing and is dropped; a message lost after its ack
(agent killed) is published again by the scheduler's reconciler.

Messages are taken one at a time with `basic.get` rather than a prefetching subscription: a
prefetched message would sit unacked in the client while its worker runs a pipeline.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kombu import Connection, Exchange, Queue
from kombu.exceptions import ContentDisallowed, DecodeError, OperationalError
from kombu.message import Message

from eas.errors import ArchiveError
from eas.job_schemas import JOB_TASK, JobPublic, site_queue

log = logging.getLogger(__name__)
IDLE_FIRST = 0.02  # seconds: first pause on an empty queue, doubled up to `idle_max`


def job_queue(site: str) -> Queue:
    """The site's queue as the scheduler's Celery `send_task(queue=...)` declares it."""
    name = site_queue(site)
    return Queue(name, Exchange(name, type="direct"), routing_key=name, durable=True)


def job_id_of(message: Message) -> int | None:
    """The job id a Celery (protocol 2) job message carries; None when it is not one."""
    if message.headers.get("task") != JOB_TASK:
        return None
    try:
        body: Any = message.decode()
        (job_id,) = body[0]
    except (ContentDisallowed, DecodeError, TypeError, ValueError, IndexError, KeyError):
        return None
    return job_id if isinstance(job_id, int) and not isinstance(job_id, bool) else None


@dataclass
class ConsumerCounts:
    """What the consumer did with the messages it took."""

    claimed: int = 0
    dropped: int = 0
    rejected: int = 0


class QueueConsumer:
    """Takes a site's job messages with `concurrency` worker threads, each running one job
    at a time; `stop()` (SIGTERM) stops taking messages and lets jobs in hand finish."""

    def __init__(
        self,
        site: str,
        broker_url: str,
        claim: Callable[[int], JobPublic | None],
        run: Callable[[JobPublic], object],
        concurrency: int = 1,
        idle_max: float = 1.0,
    ) -> None:
        self.site, self.broker_url = site, broker_url
        self._claim, self._run = claim, run
        self.concurrency, self.idle_max = concurrency, idle_max
        self.counts = ConsumerCounts()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the worker threads."""
        self._threads = [
            threading.Thread(target=self._work, name=f"consumer-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Take no more messages; jobs in hand finish."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker threads to end (after `stop()`)."""
        for thread in self._threads:
            thread.join(timeout)

    def serve(self, handle_signals: bool = False) -> None:
        """Start, then block until `stop()` (or SIGTERM/SIGINT with `handle_signals`, from
        the main thread) and every job in hand is finished."""
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        self.start()
        self._stop.wait()
        self.join()

    def _count(self, what: str) -> None:
        with self._lock:
            setattr(self.counts, what, getattr(self.counts, what) + 1)

    def _work(self) -> None:
        while not self._stop.is_set():
            connection = Connection(self.broker_url)
            # each transport names its own errors (py-amqp's, redis-py's); all mean reconnect
            errors = (OSError, OperationalError, *connection.connection_errors,
                      *connection.channel_errors)  # fmt: skip
            try:
                with connection:
                    self._take(connection)
            except errors as exc:
                log.warning("broker %s: %s; reconnecting", self.broker_url, exc)
                self._stop.wait(self.idle_max)

    def _take(self, connection: Connection) -> None:
        queue = job_queue(self.site)(connection.default_channel)
        queue.declare()
        idle = IDLE_FIRST
        while not self._stop.is_set():
            message = queue.get(no_ack=False, accept=["json"])
            if message is None:
                self._stop.wait(idle)
                idle = min(idle * 2, self.idle_max)
                continue
            idle = IDLE_FIRST
            job = self._claim_for(message)
            if job is not None:
                self._run(job)

    def _claim_for(self, message: Message) -> JobPublic | None:
        job_id = job_id_of(message)
        if job_id is None:
            log.warning("dropping a message that names no job: %r", message.headers)
            message.reject(requeue=False)
            self._count("rejected")
            return None
        try:
            job = self._claim(job_id)
        except (ArchiveError, OSError) as exc:
            if isinstance(exc, ArchiveError) and exc.status < 500:
                log.warning("job %s cannot be claimed here, dropped: %s", job_id, exc)
                message.ack()
                self._count("dropped")
                return None
            # the archive is away: give the message back and pause, the row is untouched
            log.warning("claim of job %s failed, message requeued: %s", job_id, exc)
            message.requeue()
            self._stop.wait(self.idle_max)
            return None
        message.ack()  # at once: the claimed row now holds the job, the message is done
        self._count("dropped" if job is None else "claimed")
        return job
