"""Sending a large GET body from the page cache to the connection's socket with sendfile(2).

Why: uvicorn offers no `http.response.pathsend`, so Starlette's FileResponse reads the file
1 MiB at a time in a worker thread and hands each chunk to the event loop, which copies it
into the socket: two copies, a thread round trip and a Python round through uvicorn per
MiB, ~0.35-0.6 CPU-s per GiB on this machine. sendfile(2) hands the page-cache pages to the
socket without copying them: the DSS then spends 0.06-0.08 CPU-s per GiB (docs/benchmarks.md,
dss).

How: the answer's status line and headers go through ASGI as usual (uvicorn adds its
`date` and `server` headers and logs the request); the body does not. Once uvicorn has
written the head, the connection's reading is paused (nothing else touches the socket from
then on) and the body is sent with non-blocking `os.sendfile` calls on a duplicate of the
socket's descriptor, by an event-loop callback that runs whenever the socket has room.
uvicorn still expects the body, so the connection closes after it: the head says
`Connection: close`, a FIN follows the last byte, and whatever the client still sends is read
and dropped until it closes its side (`_lingering_close`; a pipelined request left unread
would make the kernel reset the connection and drop the body's unsent tail); then the
transport is closed. When the client went away or stalled it is aborted instead. A client
that stops reading for `idle_seconds` is dropped.

Decision and its risk: the transport is found as `receive.__self__.transport`, as for large
PUT bodies (`dss.socket_body`), which is not ASGI API (and `receive.__self__.disconnected` is
set once done, `_mark_gone`). Without it (another server, a future uvicorn, uvloop, TLS,
HTTP/2), or for a HEAD, a small body (under SEND_MIN: those keep the
connection alive), `If-Range` or several ranges, the answer stays Starlette's FileResponse.
`tests/integration/test_dss_raw_send.py` checks that a large GET does take this path.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import anyio
from starlette.types import Receive, Scope, Send

from dss.backend import FileMissing
from dss.receive import IdleWatchdog
from dss.socket_body import plain_transport

log = logging.getLogger(__name__)

SEND_MIN = 4 * 1024 * 1024  # smaller bodies keep the connection alive (and the ASGI path)


class FileShrank(OSError):
    """The file ended before the bytes its answer promised were sent."""


async def send_file(
    path: Path,
    head: tuple[int, Sequence[tuple[bytes, bytes]]],
    span: tuple[int, int],
    scope: Scope,
    receive: Receive,
    send: Send,
    idle_seconds: float,
) -> bool:
    """Answer with `head` (status, headers without `connection`) and bytes `span` (start,
    end exclusive) of `path` sent with sendfile; False (nothing sent) when the connection
    cannot be taken from the server and the caller must answer the ASGI way. FileMissing
    (nothing sent) when `path` is gone.

    A client that goes away or stalls ends the connection; nothing is raised to the server.
    """
    transport = plain_transport(scope, receive)
    if transport is None or transport.get_write_buffer_size() != 0:
        return False
    try:
        source = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        # Deleted since it was stat-ed. FileResponse would send its 200 head, then fail.
        raise FileMissing("the file was deleted a moment ago") from None
    transport.pause_reading()
    try:
        status, headers = head
        closing = [*headers, (b"connection", b"close")]
        await send({"type": "http.response.start", "status": status, "headers": closing})
        with socket.socket(fileno=os.dup(transport.get_extra_info("socket").fileno())) as sock:
            sock.setblocking(False)  # as it is: the flag belongs to the shared file description
            await _flushed(transport, idle_seconds)
            await _sendfile(sock.fileno(), source, span, idle_seconds)
            await _lingering_close(sock, idle_seconds)
    except FileShrank as exc:
        log.warning("GET %s: %s (truncated behind the DSS?): connection dropped", path, exc)
        transport.abort()
    except (OSError, TimeoutError) as exc:
        log.info("GET %s: connection dropped after a partial body: %r", path, exc)
        transport.abort()
    except BaseException:
        transport.abort()
        raise
    else:
        transport.close()
    finally:
        os.close(source)
        _mark_gone(receive)
    await asyncio.sleep(0)  # let the server see the connection gone, not an unfinished answer
    return True


def _mark_gone(receive: Receive) -> None:
    """Tell the server's request cycle (the object the transport was found on) that its
    connection is gone, so that it does not log this answer as unfinished.

    uvicorn's httptools protocol marks only its newest cycle when the connection closes: with
    a request pipelined behind this one already parsed, that is the pipelined request's.
    """
    cycle: Any = getattr(receive, "__self__", None)
    if hasattr(cycle, "disconnected"):
        cycle.disconnected = True


async def _flushed(transport: asyncio.Transport, idle_seconds: float) -> None:
    """Wait until the transport has written everything given to it (the head): rarely long."""
    async with asyncio.timeout(idle_seconds):
        while transport.get_write_buffer_size():
            await asyncio.sleep(0.001)


async def _sendfile(sock: int, source: int, span: tuple[int, int], idle_seconds: float) -> None:
    """Send bytes `span` of `source` on the non-blocking socket `sock` from the event loop.

    The sending happens in the writer callback itself, registered once for the whole body:
    a refill of the socket costs one pass of the event loop, not a task switch, two `epoll`
    changes and a timer (measured: 0.05-0.07 CPU-s per GiB instead of 0.08-0.12, and the
    reader waits less). TimeoutError when the socket takes no byte for `idle_seconds`;
    FileShrank when the file ends early; OSError (EPIPE, ECONNRESET) when the client went away.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    offset, end = span

    def send_more() -> None:  # called on every pass of the loop while the socket has room
        nonlocal offset
        if done.done():
            return
        try:
            sent = os.sendfile(sock, source, offset, end - offset)
        except BlockingIOError:
            return
        except Exception as exc:  # noqa: BLE001 (OSError mostly; anything ends the body, once)
            done.set_exception(exc)
            return
        if sent == 0:
            done.set_exception(FileShrank(f"the file ended at byte {offset}, before {end}"))
            return
        offset += sent
        watchdog.touch()
        if offset >= end:
            done.set_result(None)

    with anyio.CancelScope() as scope:
        watchdog = IdleWatchdog(idle_seconds, scope)
        loop.add_writer(sock, send_more)
        try:
            await done
        finally:
            loop.remove_writer(sock)
            watchdog.close()
    if watchdog.fired:
        raise TimeoutError(f"the client read nothing for {idle_seconds:g} s")


async def _lingering_close(sock: socket.socket, seconds: float) -> None:
    """End the answer with a FIN, then read and drop whatever the client still sends until it
    closes its side (or `seconds` pass), so that the connection is closed with nothing unread.

    Why: closing a TCP socket that holds unread bytes (a request pipelined behind this GET,
    for instance) makes the kernel reset the connection at once and drop whatever of the body
    is still queued for sending: the client would get a cut body. A client that received the
    whole body and `Connection: close` closes at once, so this costs one pass of the loop.
    """
    loop = asyncio.get_running_loop()
    with suppress(OSError):  # a reset, or TimeoutError: nothing more to wait for
        sock.shutdown(socket.SHUT_WR)
        async with asyncio.timeout(seconds):
            while await loop.sock_recv(sock, 65536):
                pass
