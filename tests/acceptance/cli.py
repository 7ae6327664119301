"""Run the real `sdc` console script in a subprocess, as a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests


def run_sdc(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `sdc ARGS` and return the finished process (stdout/stderr captured as text)."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    sdc = Path(sys.executable).with_name("sdc")
    return subprocess.run(
        [str(sdc), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def run_sdc_group(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`run_sdc` for a command that starts processes of its own (`sdc demo`): on timeout the
    whole process group is killed, so no child outlives the test."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    sdc = Path(sys.executable).with_name("sdc")
    process = subprocess.Popen(
        [str(sdc), *args], cwd=cwd, env=full_env, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@contextmanager
def sdc_server(cwd: Path, ready_path: str = "/docs") -> Iterator[str]:
    """Run `sdc server` on a free loopback port in `cwd`; yield its base URL once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sdc = Path(sys.executable).with_name("sdc")
    server = subprocess.Popen(
        [str(sdc), "server", "--port", str(port), "--log-level", "warning"],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}{ready_path}", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(20)
