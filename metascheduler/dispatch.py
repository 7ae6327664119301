"""Transports that tell a site's agents a job is queued; the database row stays the truth."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from celery import Celery
from kombu import Exchange, Queue
from kombu.exceptions import OperationalError
from kombu.utils.url import maybe_sanitize_url

from eas.job_schemas import JOB_TASK, site_queue
from metascheduler.config import SchedulerConfig

# Each publish on Redis is a round trip: a cycle with many messages publishes over a few
# connections at once so the round trips overlap (agents start on the first ones meanwhile).
PUBLISHERS = 4
MESSAGES_PER_PUBLISHER = 25


class DispatchError(RuntimeError):
    """The transport could not announce the jobs (broker unreachable)."""


class Dispatcher(Protocol):
    """Announce queued jobs on a site's queue."""

    def publish(self, site: str, job_ids: Sequence[int]) -> None:
        """Announce that `job_ids` are queued at `site`; DispatchError when it cannot."""

    def close(self) -> None:
        """Release the transport's connections."""


class HttpPullDispatcher:
    """Agents poll `POST /api/v1/scheduler/claim`: nothing to announce."""

    def __init__(self, config: SchedulerConfig | None = None) -> None:
        pass

    def publish(self, site: str, job_ids: Sequence[int]) -> None:
        """Nothing: the QUEUED row is what an HTTP agent claims."""

    def close(self) -> None:
        """Nothing to release."""


class CeleryDispatcher:
    """Job messages on the queue `site.<SDC>` of a RabbitMQ or Redis broker.

    A message is a Celery task sent by name (`JOB_TASK`) whose arguments are only job ids:
    a cycle's jobs for a site go out in messages of up to `ids_per_message` ids, so a burst
    of jobs costs a few broker round trips (on both sides) instead of three per job. The
    scheduler never imports the agent. Messages are hints: a lost one is published again by
    the scheduler's reconciler, a duplicate claims nothing (the row decides).
    """

    def __init__(self, config: SchedulerConfig) -> None:
        self.broker_url = config.broker_url
        self.ids_per_message = config.ids_per_message
        self._app = Celery("sdc-scheduler", broker=config.broker_url, set_as_current=False)
        self._app.conf.update(
            task_serializer="json",
            # a job's truth is its row, so a message needs no result backend and no retries
            task_ignore_result=True,
            broker_connection_retry_on_startup=True,
        )

    def publish(self, site: str, job_ids: Sequence[int]) -> None:
        """Send `JOB_TASK(*ids)` messages naming every job of `job_ids` to the site's queue."""
        queue = site_queue(site)
        step = self.ids_per_message
        messages = [list(job_ids[i : i + step]) for i in range(0, len(job_ids), step)]
        size = max(MESSAGES_PER_PUBLISHER, -(-len(messages) // PUBLISHERS))
        chunks = [messages[i : i + size] for i in range(0, len(messages), size)]
        try:
            if len(chunks) <= 1:
                self._send(queue, messages)
                return
            with ThreadPoolExecutor(len(chunks), thread_name_prefix="publish") as pool:
                for done in [pool.submit(self._send, queue, chunk) for chunk in chunks]:
                    done.result()
        except (OperationalError, OSError) as exc:
            where = maybe_sanitize_url(self.broker_url)  # no password in alerts and logs
            raise DispatchError(f"cannot publish to {queue} at {where}: {exc}") from exc

    def _send(self, queue: str, messages: Sequence[list[int]]) -> None:
        with self._app.producer_or_acquire() as producer:
            # Declared on every publish, not from Celery's per-connection cache: a broker
            # that lost the queue (restart, deletion) would silently drop the messages.
            Queue(queue, Exchange(queue, type="direct"), routing_key=queue, durable=True)(
                producer.channel
            ).declare()
            for ids in messages:
                self._app.send_task(JOB_TASK, args=ids, queue=queue, producer=producer)

    def close(self) -> None:
        """Close the broker connections."""
        self._app.close()


DISPATCHERS: dict[str, Callable[[SchedulerConfig], Dispatcher]] = {
    "http": HttpPullDispatcher,
    "celery": CeleryDispatcher,
}


def make_dispatcher(config: SchedulerConfig) -> Dispatcher:
    """The dispatcher of the configured transport."""
    return DISPATCHERS[config.transport](config)
