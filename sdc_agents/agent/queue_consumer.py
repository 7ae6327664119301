"""The Celery transport of the site agent: consume `site.<SDC>`, claim the named jobs, ack.

A message only names jobs (a Celery task `JOB_TASK(*job_ids)` sent by the scheduler: one
id, or a batch of ids of jobs queued at this site). The consumer takes messages until they
name as many jobs as it has free slots (`concurrency` minus the jobs it runs), claims
**those jobs' rows** in one call to the scheduler API, publishes the ids it had no slot
for in a new message, acks the messages at once and only then runs the claimed jobs, each
in a worker thread. So no message is ever held while a pipeline runs (RabbitMQ's consumer
timeout, Redis's visibility timeout cannot fire on it), and a batch of jobs costs one
round trip to the archive and a few to the broker. A job that is no longer QUEUED at this
site claims nothing and is dropped, and so are the jobs of a claim the archive refuses (4xx)
(the ids beyond the free slots are given back all the same: they were not asked for); a
message lost after its ack (agent killed) is published again by the scheduler's reconciler.

Messages are taken with `basic.get`, never beyond the free slots, rather than with a
prefetching subscription: a prefetched message would sit unacked in the client while the
slots are busy with pipelines.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from celery import Celery
from kombu import Connection, Exchange, Queue
from kombu.exceptions import ContentDisallowed, DecodeError, OperationalError
from kombu.message import Message
from kombu.utils.url import maybe_sanitize_url

from eas.errors import ArchiveError
from eas.job_schemas import JOB_TASK, JobPublic, job_ids_of, site_queue

log = logging.getLogger(__name__)
IDLE_FIRST = 0.02  # seconds: first pause on an empty queue, doubled up to `idle_max`
# seconds a message naming more jobs than there are free slots waits for jobs in hand to
# free more (a burst's jobs end together) before the surplus is published again
LINGER = 0.01


def job_queue(site: str) -> Queue:
    """The site's queue as the scheduler's Celery `send_task(queue=...)` declares it."""
    name = site_queue(site)
    return Queue(name, Exchange(name, type="direct"), routing_key=name, durable=True)


def job_ids_in(message: Message) -> list[int] | None:
    """The job ids a Celery (protocol 2) job message names; None when it is not one."""
    if message.headers.get("task") != JOB_TASK:
        return None
    try:
        body: Any = message.decode()
        return job_ids_of(body[0])
    except (ContentDisallowed, DecodeError, TypeError, ValueError, IndexError, KeyError):
        return None


@dataclass
class ConsumerCounts:
    """What the consumer did with the messages it took."""

    claimed: int = 0
    dropped: int = 0  # jobs named but no longer QUEUED here (or named twice)
    rejected: int = 0  # messages naming no job
    returned: int = 0  # jobs named beyond the free slots, published again for later
    claim_calls: int = 0  # claimed / claim_calls: the mean batch


class QueueConsumer:
    """Takes a site's job messages for `concurrency` worker threads, each running one job
    at a time; `stop()` (SIGTERM) stops taking messages and lets jobs in hand finish.

    `claim(job_ids)` leases those of the named jobs that are still QUEUED here and returns
    them; `run(job)` runs one claimed job.
    """

    def __init__(
        self,
        site: str,
        broker_url: str,
        claim: Callable[[list[int]], list[JobPublic]],
        run: Callable[[JobPublic], object],
        concurrency: int = 1,
        idle_max: float = 1.0,
    ) -> None:
        self.site, self.broker_url = site, broker_url
        self._broker_shown = maybe_sanitize_url(broker_url)  # for logs: no password
        self._claim, self._run = claim, run
        self.concurrency, self.idle_max = concurrency, idle_max
        self.counts = ConsumerCounts()
        self._slots = threading.Condition()
        self._running = 0  # slots taken: reserved by the taker or running a job
        self._in_hand = 0  # jobs handed to the workers and not yet done
        self._stop = threading.Event()
        self._taker: threading.Thread | None = None
        self._workers: ThreadPoolExecutor | None = None
        # sends the message that gives back the jobs a message named beyond the free slots
        self._publisher = Celery("sdc-agent", broker=broker_url, set_as_current=False)
        self._publisher.conf.update(task_serializer="json", task_ignore_result=True)
        connection = Connection(broker_url)
        # each transport names its own errors (py-amqp's, redis-py's); all mean reconnect
        self._broker_errors = (OSError, OperationalError, *connection.connection_errors,
                               *connection.channel_errors)  # fmt: skip

    def start(self) -> None:
        """Start taking messages."""
        self._workers = ThreadPoolExecutor(self.concurrency, thread_name_prefix="job")
        # One taker: the slots freed while it claims accumulate into its next batch (two
        # takers split them, halving the batches and splitting more messages).
        self._taker = threading.Thread(target=self._work, name="consumer", daemon=True)
        self._taker.start()

    def stop(self) -> None:
        """Take no more messages; jobs in hand finish."""
        self._stop.set()
        with self._slots:
            self._slots.notify_all()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the consumer and the jobs in hand to end (after `stop()`)."""
        if self._taker is not None:
            self._taker.join(timeout)
        if self._workers is not None:
            self._workers.shutdown(wait=True)

    def serve(self, handle_signals: bool = False) -> None:
        """Start, then block until `stop()` (or SIGTERM/SIGINT with `handle_signals`, from
        the main thread) and every job in hand is finished."""
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        self.start()
        self._stop.wait()
        self.join()

    def _count(self, what: str, n: int = 1) -> None:
        with self._slots:
            setattr(self.counts, what, getattr(self.counts, what) + n)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                with Connection(self.broker_url) as connection:
                    self._take(connection)
            except self._broker_errors as exc:
                log.warning("broker %s: %s; reconnecting", self._broker_shown, exc)
                self._stop.wait(self.idle_max)
            except Exception:
                # the only taker must outlive a surprise (say, a malformed answer): closing
                # the connection hands its unacked messages back, and the rows decide
                log.exception("taking jobs for %s failed; reconnecting", self.site)
                self._stop.wait(self.idle_max)

    def _reserve_slots(self) -> int:
        """Block until a slot is free, then reserve every free one; 0 once stopping."""
        with self._slots:
            while self._running >= self.concurrency and not self._stop.is_set():
                self._slots.wait()
            if self._stop.is_set():
                return 0
            free = self.concurrency - self._running
            self._running = self.concurrency
            return free

    def _reserve_more(self, wanted: int) -> int:
        """Reserve up to `wanted` more slots, waiting at most `LINGER` for jobs in hand to
        free them; how many were reserved."""
        deadline = time.monotonic() + LINGER
        with self._slots:
            while self.concurrency - self._running < wanted and not self._stop.is_set():
                if (left := deadline - time.monotonic()) <= 0:
                    break
                self._slots.wait(left)
            more = min(wanted, self.concurrency - self._running)
            self._running += more
            return more

    def _release_slots(self, n: int) -> None:
        with self._slots:
            self._running -= n
            self._slots.notify_all()

    def _take(self, connection: Connection) -> None:
        queue = job_queue(self.site)(connection.default_channel)
        queue.declare()
        idle = IDLE_FIRST
        while free := self._reserve_slots():
            taken: list[tuple[Message, list[int]]] = []
            jobs: list[JobPublic] = []
            took_any = False
            try:
                # a message may name several jobs: take until they fill the free slots
                while sum(len(ids) for _, ids in taken) < free:
                    message = queue.get(no_ack=False, accept=["json"])
                    if message is None:
                        break
                    took_any = True
                    ids = job_ids_in(message)
                    if ids is None:
                        log.warning("dropping a message that names no job: %r", message.headers)
                        message.reject(requeue=False)
                        self._count("rejected")
                    else:
                        taken.append((message, ids))
                named = sum(len(ids) for _, ids in taken)
                if named > free:  # jobs in hand may end in a moment: claim more, split less
                    free += self._reserve_more(named - free)
                jobs = self._claim_for(connection, taken, free) if taken else []
            finally:  # a broker error gives back the slots (and, on reconnect, the messages)
                self._release_slots(free - len(jobs))
            if not took_any:
                self._stop.wait(idle)
                idle = min(idle * 2, self.idle_max)
                continue
            idle = IDLE_FIRST
            self._count_in_hand(len(jobs))
            for job in jobs:
                assert self._workers is not None
                self._workers.submit(self._run_one, job)

    def _run_one(self, job: JobPublic) -> None:
        try:
            self._run(job)
        except Exception:  # one job's crash must not lose the slot or stop the others
            log.exception("job %s failed in the agent", job.id)
        finally:
            self._count_in_hand(-1)
            self._release_slots(1)

    def _count_in_hand(self, n: int) -> None:
        with self._slots:
            self._in_hand += n

    def jobs_in_hand(self) -> int:
        """The claimed jobs not yet done (running, or reporting their end)."""
        return self._in_hand

    def _claim_for(
        self, connection: Connection, taken: list[tuple[Message, list[int]]], free: int
    ) -> list[JobPublic]:
        """Claim the first `free` jobs the messages name, give the others back in a new
        message, then ack the messages; the claimed jobs."""
        named = list(dict.fromkeys(i for _, ids in taken for i in ids))
        wanted, rest = sorted(named[:free]), named[free:]
        occurrences = sum(len(ids) for _, ids in taken)
        self._count("claim_calls")
        try:
            jobs = self._claim(wanted)
        except (ArchiveError, OSError) as exc:
            if isinstance(exc, ArchiveError) and exc.status < 500:
                # the refusal is about the jobs asked for; those named beyond the free slots
                # were not asked for, so they are given back as after a claim
                log.warning("jobs %s cannot be claimed here, dropped: %s", wanted, exc)
                self._settle(connection, taken, rest)
                self._count("returned", len(rest))
                self._count("dropped", occurrences - len(rest))
                return []
            # the archive is away: give the messages back and pause, the rows are untouched
            log.warning("claim of jobs %s failed, messages requeued: %s", wanted, exc)
            for message, _ in taken:
                message.requeue()
            self._stop.wait(self.idle_max)
            return []
        # at once: the claimed rows now hold the jobs, the messages are done
        self._settle(connection, taken, rest)
        self._count("claimed", len(jobs))
        self._count("returned", len(rest))
        self._count("dropped", occurrences - len(jobs) - len(rest))
        return jobs

    def _settle(
        self, connection: Connection, taken: list[tuple[Message, list[int]]], rest: list[int]
    ) -> None:
        """Publish the jobs not claimed for want of slots (before the ack: a crash in
        between duplicates a hint, never loses one), then ack the messages. A broker error
        here is logged only: the claims stand, and a redelivered message claims nothing."""
        try:
            if rest:
                self._publisher.send_task(
                    JOB_TASK, args=rest, queue=site_queue(self.site),
                    producer=connection.Producer(),
                )  # fmt: skip
            for message, _ in taken:
                message.ack()
        except self._broker_errors as exc:
            log.warning("broker %s while settling messages: %s", self._broker_shown, exc)
