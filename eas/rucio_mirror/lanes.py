"""Bulk Rucio calls spread over a few clients at once: Rucio's server works on concurrent
requests in parallel (one gunicorn worker each), and its time is in its database, not in
the client, so a second request in flight nearly halves the wait on an idle server.

A client (rucio-clients keeps a `requests.Session`) is used by one thread at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Call = Callable[[Any], None]


def in_lanes(lanes: Sequence[Any], calls: Sequence[Call]) -> None:
    """Run `calls`, each given one of the clients in `lanes`, at most one call per client at
    a time, taken in order. The first failure stops the lanes taking new calls and is
    raised once the calls in flight are done."""
    if len(lanes) == 1 or len(calls) <= 1:
        for call in calls:
            call(lanes[0])
        return
    work = iter(calls)
    lock = threading.Lock()
    failed = threading.Event()

    def lane(client: Any) -> None:
        while not failed.is_set():
            with lock:
                call = next(work, None)
            if call is None:
                return
            try:
                call(client)
            except BaseException:
                failed.set()
                raise

    with ThreadPoolExecutor(len(lanes), thread_name_prefix="rucio-lane") as pool:
        futures = [pool.submit(lane, client) for client in lanes[: len(calls)]]
    for future in futures:
        future.result()
