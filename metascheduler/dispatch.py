"""Transports that tell a site's agents a job is queued; the database row stays the truth."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Dispatcher(Protocol):
    """Announce queued jobs on a site's queue."""

    def publish(self, site: str, job_ids: Sequence[int]) -> None:
        """Announce that `job_ids` are queued at `site`."""


class HttpPullDispatcher:
    """Agents poll `POST /api/v1/scheduler/claim`: nothing to announce."""

    def publish(self, site: str, job_ids: Sequence[int]) -> None:
        """Nothing: the QUEUED row is what an HTTP agent claims."""


DISPATCHERS: dict[str, type[Dispatcher]] = {"http": HttpPullDispatcher}
