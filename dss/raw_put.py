"""A PUT whose body goes from the file to the socket with sendfile(2).

Sending a file through `requests` reads it into fresh `bytes` and copies them into the
socket: ~0.4 CPU-s per GiB on this machine, taken from the same two cores the DSS on the
other end needs for md5. `socket.sendfile` moves the page-cache pages into the socket in the
kernel: ~0.1 CPU-s per GiB. Streams that are not regular files (and TLS sockets, where
sendfile would fall back to 8 KiB sends) go in 1 MiB blocks instead. As for GETs
(`dss.raw_get`), proxies from the environment are not consulted.
"""

from __future__ import annotations

import http.client
import io
import os
import socket
import ssl
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

from dss.raw_get import raw_connection

SEND_BLOCK = 1024 * 1024


class SourceShrank(Exception):
    """The source ended before the length declared for it was sent (it changed meanwhile)."""


@dataclass(frozen=True)
class Answer:
    """The DSS's answer to a PUT: status, the reason header (if any) and the body."""

    status: int
    reason: str | None
    body: bytes


def raw_put(
    url: str,
    headers: Mapping[str, str],
    body: BinaryIO,
    length: int | None,
    timeout: tuple[float, float],
    reason_header: str,
) -> Answer:
    """PUT `length` bytes of `body` from its current position (None: all of it, chunked).

    OSError / http.client.HTTPException when the connection fails; SourceShrank when the
    body ends early (the connection is then closed, so the DSS drops the upload).
    """
    with raw_connection(url, timeout) as (connection, target):
        connection.putrequest("PUT", target, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if length is None:
            connection.putheader("Transfer-Encoding", "chunked")
        else:
            connection.putheader("Content-Length", str(length))
        connection.endheaders()
        assert connection.sock is not None  # connected by raw_connection
        try:
            send_body(connection.sock, body, length)
        except (BrokenPipeError, ConnectionResetError):
            # The DSS may answer before reading the whole body (a refused token, a full
            # disk) and close: its answer, if it arrived, says more than the broken pipe.
            early = _answer_if_any(connection, reason_header)
            if early is None:
                raise
            return early
        response = connection.getresponse()
        return Answer(response.status, response.getheader(reason_header), response.read())


def send_body(sock: socket.socket, body: BinaryIO, length: int | None) -> None:
    """Send `body` as the request body: sendfile for a regular file of known length."""
    if length is None:
        while block := body.read(SEND_BLOCK):
            sock.sendall(b"%x\r\n" % len(block))
            sock.sendall(block)
            sock.sendall(b"\r\n")
        sock.sendall(b"0\r\n\r\n")
        return
    if _sendfile_possible(sock, body):
        sent = sock.sendfile(body, offset=body.tell(), count=length)
    else:
        sent = 0
        while sent < length and (block := body.read(min(SEND_BLOCK, length - sent))):
            sock.sendall(block)
            sent += len(block)
    if sent != length:
        raise SourceShrank(f"the source ended after {sent} of the {length} bytes declared")


def _sendfile_possible(sock: socket.socket, body: BinaryIO) -> bool:
    if isinstance(sock, ssl.SSLSocket) or not hasattr(os, "sendfile"):
        return False
    try:
        return stat.S_ISREG(os.fstat(body.fileno()).st_mode)
    except (AttributeError, io.UnsupportedOperation, OSError):
        return False


def _answer_if_any(connection: http.client.HTTPConnection, reason_header: str) -> Answer | None:
    try:
        response = connection.getresponse()
        return Answer(response.status, response.getheader(reason_header), response.read())
    except (OSError, http.client.HTTPException):
        return None
