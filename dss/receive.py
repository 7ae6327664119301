"""Receiving a PUT body: stream it into an upload, verify, publish — or leave nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import partial

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope

from dss.backend import DeclaredChecksums, FileStat, PutOutcome, StorageError, Upload
from dss.checksums import normalise_adler32, normalise_md5
from dss.socket_body import read_body, take_socket
from dss.upload_feeder import ChunkFeeder


class BadUpload(ValueError):
    """The request itself is wrong: missing or malformed checksum headers, short body."""


class TruncatedUpload(StorageError):
    """The body ended before `Content-Length` bytes arrived (the client went away)."""


def declared_checksums(headers: Mapping[str, str]) -> DeclaredChecksums:
    """The writer's checksums: `X-Checksum-Adler32` is required, md5 optional.

    md5 comes from `Content-MD5` (RFC 1864 base64, or hex) or `X-Checksum-MD5` (hex).
    """
    adler = headers.get("x-checksum-adler32")
    if adler is None:
        raise BadUpload("missing X-Checksum-Adler32 header: declare the adler32 of the body")
    md5 = headers.get("content-md5") or headers.get("x-checksum-md5")
    try:
        return DeclaredChecksums(
            adler32=normalise_adler32(adler), md5=None if md5 is None else normalise_md5(md5)
        )
    except ValueError as exc:
        raise BadUpload(str(exc)) from None


def expected_length(headers: Mapping[str, str]) -> int | None:
    """The declared body size, if any.

    None under a `Transfer-Encoding` even with a `Content-Length`: the transfer coding frames
    the body and overrides the length (RFC 9112 6.3), as both of uvicorn's parsers read it; a
    length taken from it would have the body read off the socket as raw bytes, chunk sizes and
    all (`dss.socket_body`).
    """
    raw = headers.get("content-length")
    if raw is None or "transfer-encoding" in headers:
        return None
    if not raw.isdigit():
        raise BadUpload(f"Content-Length {raw!r} is not a byte count")
    return int(raw)


class StalledUpload(StorageError):
    """No byte of the body arrived for too long: a stalled or malicious client."""


class IdleWatchdog:
    """Cancels `scope` once `touch` has not been called for `seconds`.

    uvicorn has no body-read timeout; without this a client that stops sending mid-body
    would hold its staged temporary (and a connection) forever. One timer per upload, re-armed
    only when it fires: a timeout around every chunk's read cost ~30 us a chunk, a sizeable
    share of a GiB's worth of 64-256 KiB chunks.
    """

    def __init__(self, seconds: float, scope: anyio.CancelScope) -> None:
        self._loop = asyncio.get_running_loop()
        self.seconds = seconds
        self._scope = scope
        self.fired = False
        self._last = self._loop.time()
        self._timer = self._loop.call_at(self._last + seconds, self._check)

    def touch(self) -> None:
        """Progress was made just now (callable from any thread: one float assignment)."""
        self._last = self._loop.time()

    def close(self) -> None:
        """Stop watching."""
        self._timer.cancel()

    def _check(self) -> None:
        due = self._last + self.seconds
        if self._loop.time() < due:
            self._timer = self._loop.call_at(due, self._check)
            return
        self.fired = True
        self._scope.cancel()


async def receive_upload(
    scope: Scope,
    receive: Receive,
    upload: Upload,
    declared: DeclaredChecksums,
    length: int | None,
    idle_seconds: float,
) -> tuple[PutOutcome, FileStat]:
    """Write every byte of the request body, then commit; on any failure or disconnect, abort.

    The upload's `write` (hashing; the posix backend writes on a thread of its own) runs in
    a thread of the upload's own (`ChunkFeeder`). The body is read message by message from
    the raw ASGI `receive` (no `Request.stream` generator around each chunk); a large one
    with a `Content-Length` is read off the socket after the first message
    (`dss.socket_body`). StalledUpload when no byte arrives (and no write finishes) for
    `idle_seconds`; ClientDisconnect when the client goes.
    """
    with anyio.CancelScope() as scope_of_body:
        watchdog = IdleWatchdog(idle_seconds, scope_of_body)
        try:
            received = await _stream_into(scope, receive, upload, watchdog, length)
        except TimeoutError:
            upload.abort()
            raise StalledUpload(f"no bytes of the body arrived for {idle_seconds:g} s") from None
        except BaseException:
            # Also on cancellation and ClientDisconnect: nothing may stay visible or staged.
            upload.abort()
            raise
        finally:
            watchdog.close()
    if watchdog.fired:
        raise StalledUpload(f"no bytes of the body arrived for {idle_seconds:g} s")
    try:
        if length is not None and received != length:
            raise TruncatedUpload(f"received {received} of {length} declared bytes")
        return await run_in_threadpool(upload.commit, declared)
    except BaseException:
        upload.abort()
        raise


async def _stream_into(
    scope: Scope, receive: Receive, upload: Upload, watchdog: IdleWatchdog, length: int | None
) -> int:
    """Queue each body chunk for the upload's feeder thread; the number of bytes written.

    The event loop waits only when the feeder is MAX_BACKLOG bytes behind (memory stays
    bounded per upload).
    """
    feeder = ChunkFeeder(upload.write, asyncio.get_running_loop())
    first = True
    sock = None
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            watchdog.touch()
            sock = None
            if first and more and length is not None:
                # Decided before any other await: once uvicorn runs again it may buffer more
                # of the body, which would then be neither in a message nor on the socket.
                sock = take_socket(scope, receive, length - len(chunk))
            first = False
            if chunk and feeder.offer(chunk):
                await feeder.drained()  # re-raises the feeder's StorageFull at once
                watchdog.touch()
            if sock is not None and length is not None:
                with sock:
                    rest, idle = length - feeder.queued, watchdog.seconds
                    reading = partial(read_body, sock, rest, feeder.put, watchdog.touch, idle)
                    # A thread of its own, outside the server's worker threads (anyio's 40):
                    # it is held as long as the client takes to send, and stalled clients
                    # must not leave the synchronous endpoints without a thread.
                    await anyio.to_thread.run_sync(reading, limiter=anyio.CapacityLimiter(1))
                break
            if not more:
                break
        await feeder.finish()
        return feeder.consumed
    except BaseException:
        if sock is not None:  # taken, then the first chunk's queuing failed: not yet in `with`
            sock.close()
        # Let a write still running in the feeder finish first, so abort does not race it.
        with anyio.CancelScope(shield=True):
            await feeder.stop()
        raise
