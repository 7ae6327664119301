"""A GET whose body is read straight off the socket into the caller's buffers.

`requests` hands a body over in fresh `bytes` chunks, copied two or three times on the way
(urllib3's read buffer, `http.client`'s `read`, `iter_content`'s chunking): about half the
client's CPU per GiB. `http.client.HTTPResponse.readinto` fills a caller's buffer with
`recv_into`, several MiB per call, so a download costs one copy out of the kernel and the
buffers are reused. Proxies from the environment are not consulted (DSS traffic goes site
to site); redirects are not followed (the DSS never sends one).
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit

# What a broken connection looks like from http.client: worth a retry with Range.
CONNECTION_ERRORS = (OSError, http.client.HTTPException)


@contextmanager
def raw_connection(
    url: str, timeout: tuple[float, float]
) -> Iterator[tuple[http.client.HTTPConnection, str]]:
    """A connected `http.client` connection of its own to `url`'s host, and `url`'s target.

    `timeout`: (connect, read) seconds; the read timeout also bounds each send. The
    connection closes when the block ends.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=timeout[0])
    try:
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(timeout[1])
        yield connection, parts.path + (f"?{parts.query}" if parts.query else "")
    finally:
        connection.close()


@contextmanager
def raw_get(
    url: str, headers: Mapping[str, str], timeout: tuple[float, float]
) -> Iterator[http.client.HTTPResponse]:
    """GET `url` on a connection of its own; the response's body is not yet read.

    `timeout`: (connect, read) seconds. The connection closes when the block ends.
    """
    with raw_connection(url, timeout) as (connection, target):
        # identity: the body must be the file's bytes, as the checksums were computed on them
        connection.request("GET", target, headers={"Accept-Encoding": "identity", **headers})
        yield connection.getresponse()
