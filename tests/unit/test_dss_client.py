"""The client's retry schedule and what it does when the DSS cannot be reached."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from dss.client import StorageClient, backoff_delays
from dss.client_errors import Unavailable


def test_backoff_doubles_up_to_the_cap() -> None:
    assert backoff_delays(6, 0.5, 5.0) == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff_delays(0, 0.5, 5.0) == []


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_dss_is_retried_with_backoff_then_unavailable(tmp_path: Path) -> None:
    waits: list[float] = []
    url = f"http://127.0.0.1:{closed_port()}"
    with StorageClient(url, "t", retries=3, backoff_seconds=0.1, sleep=waits.append) as client:
        with pytest.raises(Unavailable, match="Connection refused|Max retries"):
            client.stat("x")
        assert waits == [0.1, 0.2, 0.4]
        waits.clear()
        with pytest.raises(Unavailable):
            client.get("x", tmp_path / "x")
        assert waits == [0.1, 0.2, 0.4]
    assert list(tmp_path.iterdir()) == []  # no partial file left behind
