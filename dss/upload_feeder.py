"""A thread of one upload's own that writes (hashes, stores) the chunks it is given.

Decision: a thread per upload fed through a `queue.SimpleQueue`, not a thread-pool call per
batch. Handing a batch to anyio's pool cost the event loop ~10% of its time (a future, a
capacity limiter, `sniffio` and `get_running_loop` look-ups with a getpid each), and the
event loop is what receives the body. Queuing a chunk is one C call; the producer hears
back from the thread only when it had to stop because the thread fell MAX_BACKLOG bytes
behind (or failed). The producer is the event loop (`offer` + `await drained()`) or, for a
body read straight off the socket (`dss.socket_body`), another thread (`put`).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from contextlib import suppress

from dss.backend import Upload

# Bytes queued and not yet written, per upload; with the posix backend's batch being
# written on its own thread, at most ~4 MiB of an upload are in memory.
MAX_BACKLOG = 2 * 1024 * 1024


class UploadAbandoned(Exception):
    """The producer gave up (the client went away, the upload is being aborted)."""


class UploadFeeder:
    """Runs `upload.write` over queued chunks in a thread; created on the event loop."""

    def __init__(self, upload: Upload, loop: asyncio.AbstractEventLoop) -> None:
        self._upload = upload
        self._loop = loop
        self._chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()  # None: the end
        self.queued = 0  # bytes offered: by the one producer only
        self.written = 0  # bytes written: by the thread only
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None  # the event loop, waiting
        self._caught_up = threading.Condition()  # a producer thread, waiting
        self._blocked = False
        self._done: asyncio.Future[None] = loop.create_future()
        self._thread = threading.Thread(target=self._run, name="dss-upload", daemon=True)
        self._thread.start()

    def offer(self, chunk: bytes) -> bool:
        """Queue `chunk`; True when the producer should now wait before the next one."""
        if self._error is not None:
            raise self._error
        self._chunks.put(chunk)
        self.queued += len(chunk)
        return self._behind() > MAX_BACKLOG

    async def drained(self) -> None:
        """On the event loop: wait until the thread has caught up; raise its error."""
        while self._error is None and self._behind() > MAX_BACKLOG // 2:
            self._waiter = self._loop.create_future()
            # Checked again now that the thread can see the waiter: it may have caught up
            # between the test above and the assignment, and would then never wake us.
            if self._error is None and self._behind() > MAX_BACKLOG // 2:
                await self._waiter
            self._waiter = None
        if self._error is not None:
            raise self._error

    def put(self, chunk: bytes) -> None:
        """From a producer thread: queue `chunk`, blocking while the thread is behind."""
        if self.offer(chunk):
            with self._caught_up:
                self._blocked = True
                while self._error is None and self._behind() > MAX_BACKLOG // 2:
                    self._caught_up.wait()
                self._blocked = False
        if self._error is not None:
            raise self._error

    async def finish(self) -> None:
        """No more chunks: wait until every one is written; raise the thread's error."""
        self._chunks.put(None)
        await asyncio.shield(self._done)
        if self._error is not None:
            raise self._error

    async def stop(self) -> None:
        """Give up: the thread ends after the write in progress; queued chunks are dropped."""
        if self._error is None:
            self._error = UploadAbandoned("upload abandoned")
        self._chunks.put(None)
        await asyncio.shield(self._done)

    def _behind(self) -> int:
        return self.queued - self.written

    def _run(self) -> None:
        try:
            while (chunk := self._chunks.get()) is not None and self._error is None:
                self._upload.write(chunk)
                self.written += len(chunk)
                if self._behind() <= MAX_BACKLOG // 2:
                    self._wake_producer()
        except BaseException as exc:  # handed to the producer, which raises it
            self._error = exc
            self._wake_producer()
        finally:
            self._notify(self._done)

    def _wake_producer(self) -> None:
        if (waiter := self._waiter) is not None:  # read once: the loop may clear it meanwhile
            self._notify(waiter)
        if self._blocked:
            with self._caught_up:
                self._caught_up.notify()

    def _notify(self, future: asyncio.Future[None]) -> None:
        with suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
            self._loop.call_soon_threadsafe(_wake, future)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
