"""Starting the disk write of an upload's bytes while the rest is still arriving.

An upload must be fsynced before it becomes visible. Left alone, the kernel keeps the whole
file dirty in the page cache (writeback starts only past `dirty_background_ratio`, gigabytes
on a server), so that final fsync writes the whole file to disk while the client waits:
~0.45 s per GiB here, a third of a PUT. Asking the kernel to start writing each range as soon
as it is written overlaps the disk with receiving and hashing, and leaves the final fsync
little to do. Linux has a call for exactly this, `sync_file_range(SYNC_FILE_RANGE_WRITE)`
(asynchronous, pages stay cached for readers); Python's `os` does not wrap it, so it comes
from the C library. Elsewhere this is a no-op and the final fsync does all the work.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable

SYNC_FILE_RANGE_WRITE = 2  # <fcntl.h>: start writeback of dirty pages, do not wait for it


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """libc's sync_file_range, or None where there is none (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    function = getattr(libc, "sync_file_range", None)
    if function is None:
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing `length` bytes of `fd` from `offset` to disk now.

    Advisory: it neither waits nor guarantees durability (fsync still does), and errors are
    ignored here because the final fsync reports them.
    """
    function = _sync_file_range()
    if function is not None and length > 0:
        function(fd, offset, length, SYNC_FILE_RANGE_WRITE)


def writeback_supported() -> bool:
    """Whether `start_writeback` does anything on this system."""
    return _sync_file_range() is not None
