"""Starting an upload's writeback early: available on Linux, advisory, never harmful."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dss.writeback import start_writeback, writeback_supported


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_linux_has_it() -> None:
    assert writeback_supported()


def test_it_leaves_the_bytes_as_written_and_ignores_a_bad_descriptor(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    path = tmp_path / "upload.part"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        os.write(fd, data)
        start_writeback(fd, 0, len(data))
        start_writeback(fd, len(data), 0)  # nothing to do
        os.fsync(fd)
    finally:
        os.close(fd)
    start_writeback(fd, 0, len(data))  # closed now: EBADF is ignored, fsync reports errors
    assert path.read_bytes() == data
