"""Reading the rest of a large PUT body straight off the connection's socket, in a thread.

Why: through ASGI every 256 KiB of a body costs the event loop a `recv`, three copies
(httptools' `bytes`, uvicorn's `bytearray +=`, its `bytes(...)` for the message), a pause and
a resume of the transport (two `epoll_ctl`s) and a Python round through uvicorn, Starlette
and our loop: ~1.1 CPU-s per GiB, more than md5 itself, on the thread that receives. Read
with blocking `recv` calls of 1 MiB from a thread, the same GiB costs ~0.35 CPU-s and the
event loop nothing (measured, `docs/benchmarks.md`, dss).

How: after the first body message came through ASGI (so `Expect: 100-continue` is answered
and uvicorn holds no body bytes: `receive` hands over everything it buffered), the
transport's reading is paused (nothing else reads the socket from then on) and the rest of
the `Content-Length` bytes are read from a duplicate of its socket. uvicorn's parser is then
out of step with the stream, so the answer carries `Connection: close`
(`CloseTakenConnections`) and uvicorn closes the connection after it, as HTTP requires.

Decision and its risk: the transport is found as `receive.__self__.transport`, uvicorn's
request cycle object (so in both its httptools and h11 protocols, for years). That is not
ASGI API: with another server, a future uvicorn without that attribute, uvloop (its
transports are not `asyncio.Transport`s), TLS (the socket carries ciphertext), HTTP/2, a
chunked body or a body under TAKEOVER_MIN, the upload stays on the ASGI path.
`tests/integration/test_dss_put_socket.py` checks that a large PUT does take this path, so an
upgrade that breaks it fails a test instead of silently slowing PUTs.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TAKEOVER_MIN = 4 * 1024 * 1024  # smaller bodies keep the connection (and the ASGI path)
RECV_SIZE = 1024 * 1024  # per recv: larger buffers fall out of the CPU cache before md5
_TAKEN = "dss.body_taken_from_socket"  # scope key: this request's body bypassed the server


def take_socket(scope: Scope, receive: Receive, rest: int) -> socket.socket | None:
    """Stop the server reading this connection and return a socket to read `rest` body
    bytes from (the caller closes it); None when the body must stay on the ASGI path.

    Call right after a `receive()` returned, with no `await` in between.
    """
    transport = None if rest < TAKEOVER_MIN else plain_transport(scope, receive)
    if transport is None:
        return None
    transport.pause_reading()
    scope[_TAKEN] = True
    return socket.socket(fileno=os.dup(transport.get_extra_info("socket").fileno()))


def plain_transport(scope: Scope, receive: Receive) -> asyncio.Transport | None:
    """The open transport of this HTTP/1.x request's connection, over a plain TCP socket
    (no TLS); None when the server does not expose one (see the module's docstring)."""
    if scope.get("http_version") not in ("1.0", "1.1"):
        return None
    transport: Any = getattr(getattr(receive, "__self__", None), "transport", None)
    if not isinstance(transport, asyncio.Transport) or transport.is_closing():
        return None
    if transport.get_extra_info("socket") is None:
        return None
    return None if transport.get_extra_info("sslcontext") is not None else transport


def read_body(
    sock: socket.socket,
    length: int,
    put: Callable[[bytes], None],
    touch: Callable[[], None],
    idle_seconds: float,
) -> int:
    """Blocking: read up to `length` bytes, handing each chunk to `put`; the count read.

    Fewer than `length` when the client closed (or reset) the connection early. TimeoutError
    when no byte arrived for `idle_seconds`; `touch` is called whenever some did.
    """
    sock.settimeout(idle_seconds)
    received = 0
    while received < length:
        try:
            chunk = sock.recv(min(RECV_SIZE, length - received))
        except ConnectionError:
            break  # the client went away: a truncated body, as an early close
        if not chunk:
            break
        touch()
        put(chunk)
        received += len(chunk)
    return received


class CloseTakenConnections:
    """ASGI middleware: the answer to a request whose body was read off the socket says
    `Connection: close` (the server's parser still expects that body: the connection cannot
    carry another request). Every error answer included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; mark the answer when its body was taken."""
        if scope["type"] != "http" or scope.get("method") != "PUT":
            await self.app(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and scope.get(_TAKEN):
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, closing)
