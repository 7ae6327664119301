"""Reaching the real services tests need: skip locally with the reason, fail under CI=true."""

from __future__ import annotations

import os
import socket

import pytest


def in_ci() -> bool:
    """True when running under CI, where a missing service is a failure, not a skip."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require(available: bool, reason: str) -> None:
    """Skip (locally) or fail (CI) when a service the test needs is not available."""
    if available:
        return
    if in_ci():
        pytest.fail(f"required service missing under CI: {reason}")
    pytest.skip(reason)
