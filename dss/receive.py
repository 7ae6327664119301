"""Receiving a PUT body: stream it into an upload, verify, publish — or leave nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import suppress

import anyio
from starlette.concurrency import run_in_threadpool

from dss.backend import DeclaredChecksums, FileStat, PutOutcome, StorageError, Upload
from dss.checksums import normalise_adler32, normalise_md5

# The upload's write (hashing; the posix backend writes on a thread of its own) runs in a
# worker thread, given at least 1 MiB at a time so thread hand-overs (each a wait for the
# scheduler on a busy machine) cost little next to the work; hashlib, zlib-ng and file
# writes release the GIL.
WRITE_BATCH = 1024 * 1024
MAX_BACKLOG = 2 * WRITE_BATCH  # with the batch in the worker: <= ~4 MiB per upload


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
    """The declared body size, if any."""
    raw = headers.get("content-length")
    if raw is None:
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
        self._seconds = seconds
        self._scope = scope
        self.fired = False
        self._last = self._loop.time()
        self._timer = self._loop.call_at(self._last + seconds, self._check)

    def touch(self) -> None:
        """Progress was made just now."""
        self._last = self._loop.time()

    def close(self) -> None:
        """Stop watching."""
        self._timer.cancel()

    def _check(self) -> None:
        due = self._last + self._seconds
        if self._loop.time() < due:
            self._timer = self._loop.call_at(due, self._check)
            return
        self.fired = True
        self._scope.cancel()


async def receive_upload(
    body: AsyncIterator[bytes],
    upload: Upload,
    declared: DeclaredChecksums,
    length: int | None,
    idle_seconds: float,
) -> tuple[PutOutcome, FileStat]:
    """Write every chunk of `body`, then commit; on any failure or disconnect, abort.

    StalledUpload when no chunk arrives (and no write finishes) for `idle_seconds`.
    """
    with anyio.CancelScope() as scope:
        watchdog = IdleWatchdog(idle_seconds, scope)
        try:
            received = await _stream_into(body, upload, watchdog)
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


async def _stream_into(body: AsyncIterator[bytes], upload: Upload, watchdog: IdleWatchdog) -> int:
    """Hand `body` to `upload.write` in a worker thread while the event loop keeps receiving.

    Whenever the worker is free it gets every chunk received so far (at least WRITE_BATCH
    bytes, as a list: no copy); receiving waits for it only when MAX_BACKLOG bytes are
    queued, which bounds memory per upload. Returns the number of bytes written.
    """
    writing: asyncio.Future[None] | None = None
    backlog: list[bytes] = []
    queued = received = 0

    def hand_over() -> asyncio.Future[None]:
        nonlocal backlog, queued, received
        batch, backlog = backlog, []
        received += queued
        queued = 0
        return asyncio.ensure_future(run_in_threadpool(_write_all, upload, batch))

    try:
        async for chunk in body:
            watchdog.touch()
            backlog.append(chunk)
            queued += len(chunk)
            if writing is not None and (writing.done() or queued >= MAX_BACKLOG):
                await writing  # re-raises the worker's StorageFull at once
                watchdog.touch()
                writing = None
            if writing is None and queued >= WRITE_BATCH:
                writing = hand_over()
        if writing is not None:
            await writing
        if queued:
            await hand_over()
        return received
    except BaseException:
        # Let a write still running in its thread finish first, so abort does not race it.
        if writing is not None:
            with anyio.CancelScope(shield=True), suppress(Exception):
                await writing
        raise


def _write_all(upload: Upload, chunks: list[bytes]) -> None:
    for chunk in chunks:
        upload.write(chunk)
