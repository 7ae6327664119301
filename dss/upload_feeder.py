"""A thread that consumes (hashes, writes) the chunks of one upload that it is handed.

Decision: a thread per upload stage fed through a `queue.SimpleQueue`, not a thread-pool call
per batch. Handing a batch to anyio's pool cost the event loop ~10% of its time (a future, a
capacity limiter, `sniffio` and `get_running_loop` look-ups with a getpid each), and a
single-slot hand-off made the producer wait whenever the consumer had not finished the
previous batch (on a loaded machine, whenever it had been descheduled). Queuing a chunk is
one C call; the producer hears back only when it must stop because the consumer fell
`max_backlog` bytes behind (or failed). The producer is the event loop (`offer` + `await
drained()`) or another thread (`put`).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from contextlib import suppress

# Bytes queued and not yet consumed, per stage: enough to ride out the consumer being
# descheduled for a few ms, little enough that 10 concurrent uploads stay far under 200 MB.
MAX_BACKLOG = 2 * 1024 * 1024


class UploadAbandoned(Exception):
    """The producer gave up (the client went away, the upload is being aborted)."""


class ChunkFeeder:
    """Runs `consume` over queued chunks, in order, in a thread of its own.

    `loop`: the event loop that will `await drained()`/`finish()`/`stop()` (None: producers are
    threads, using `put`, `close` and `abandon`).
    """

    def __init__(
        self,
        consume: Callable[[bytes], None],
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        max_backlog: int = MAX_BACKLOG,
        name: str = "dss-upload",
    ) -> None:
        self._consume = consume
        self._loop = loop
        self._max = max_backlog
        self._chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()  # None: the end
        self.queued = 0  # bytes offered: by the one producer only
        self.consumed = 0  # by the thread only
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None  # the event loop, waiting
        self._caught_up = threading.Condition()  # a producer thread, waiting
        self._blocked = False
        self._done = None if loop is None else loop.create_future()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def offer(self, chunk: bytes) -> bool:
        """Queue `chunk`; True when the producer should now wait before the next one."""
        if self._error is not None:
            raise self._error
        self._chunks.put(chunk)
        self.queued += len(chunk)
        return self._behind() > self._max

    async def drained(self) -> None:
        """On the event loop: wait until the thread has caught up; raise its error."""
        assert self._loop is not None
        while self._error is None and self._behind() > self._max // 2:
            self._waiter = self._loop.create_future()
            # Checked again now that the thread can see the waiter: it may have caught up
            # between the test above and the assignment, and would then never wake us.
            if self._error is None and self._behind() > self._max // 2:
                await self._waiter
            self._waiter = None
        if self._error is not None:
            raise self._error

    def put(self, chunk: bytes) -> None:
        """From a producer thread: queue `chunk`, blocking while the thread is behind."""
        if self.offer(chunk):
            with self._caught_up:
                self._blocked = True
                while self._error is None and self._behind() > self._max // 2:
                    self._caught_up.wait()
                self._blocked = False
        if self._error is not None:
            raise self._error

    async def finish(self) -> None:
        """On the event loop: no more chunks; wait until every one is consumed; raise the
        thread's error."""
        assert self._done is not None
        self._chunks.put(None)
        await asyncio.shield(self._done)
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """From a thread: `finish`, blocking."""
        self._chunks.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Give up: the thread ends after the chunk in progress; queued ones are dropped."""
        if self._error is None:
            self._error = UploadAbandoned("upload abandoned")
        self._chunks.put(None)

    def join(self) -> None:
        """Wait for the thread to end (after `abandon` or `close`)."""
        self._thread.join()

    async def stop(self) -> None:
        """On the event loop: `abandon`, then wait for the thread to end."""
        assert self._done is not None
        self.abandon()
        await asyncio.shield(self._done)

    def _behind(self) -> int:
        return self.queued - self.consumed

    def _run(self) -> None:
        try:
            while (chunk := self._chunks.get()) is not None and self._error is None:
                self._consume(chunk)
                self.consumed += len(chunk)
                if self._behind() <= self._max // 2:
                    self._wake_producer()
        except BaseException as exc:  # handed to the producer, which raises it
            self._error = exc
        finally:
            # Also after `abandon`: a producer thread waiting for room would wait forever.
            self._wake_producer()
            if self._done is not None:
                self._notify(self._done)

    def _wake_producer(self) -> None:
        if (waiter := self._waiter) is not None:  # read once: the loop may clear it meanwhile
            self._notify(waiter)
        if self._blocked:
            with self._caught_up:
                self._caught_up.notify()

    def _notify(self, future: asyncio.Future[None]) -> None:
        assert self._loop is not None
        with suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
            self._loop.call_soon_threadsafe(_wake, future)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
