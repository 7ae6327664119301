"""`sdc dss` as an operator runs it: serve, survive kill -9 mid-write, refuse bad setups."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from dss.client import StorageClient
from dss.client_errors import Unauthorized
from dss.tokens import token_digest
from tests import archive_support
from tests.acceptance.cli import run_sdc, sdc_server
from tests.federation import archive_server, sqlite_sessions

TOKEN = "fr-agent-secret"
sqlite_template = archive_support.sqlite_template


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.yaml"
    entry = f'{{sha256: "{token_digest(TOKEN)}", name: agent-fr, role: agent, site: SDC-FR}}'
    path.write_text(f"tokens:\n  - {entry}\n")
    return path


@contextmanager
def dss_process(
    root: Path, *token_source: str, port: int | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`sdc dss serve` in its own process, ready to answer; `token_source` as on the CLI."""
    port = port or free_port()
    sdc = Path(sys.executable).with_name("sdc")
    process = subprocess.Popen(
        [str(sdc), "dss", "serve", "--site", "SDC-FR", "--root", str(root)]
        + ["--port", str(port), *token_source],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/api/v1/health", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("sdc dss serve did not come up") from None
                time.sleep(0.1)
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(10)


def test_serve_then_kill_9_mid_write_leaves_nothing_and_restart_sweeps(tmp_path: Path) -> None:
    root = tmp_path / "sdc-fr"
    root.mkdir()
    tokens = tokens_file(tmp_path)
    with dss_process(root, "--tokens", str(tokens)) as (process, url):
        with StorageClient(url, TOKEN) as agent:
            assert agent.put("kept.fits", Path(tokens)).path == "kept.fits"
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.sendall(
                b"PUT /api/v1/files/partial.fits HTTP/1.1\r\nHost: x\r\n"
                + f"Authorization: Bearer {TOKEN}\r\n".encode()
                + b"X-Checksum-Adler32: 00000001\r\nContent-Length: 50000000\r\n\r\n"
                + os.urandom(3 * 1024 * 1024)
            )
            deadline = time.monotonic() + 10
            while not os.listdir(root / ".dss" / "tmp") and time.monotonic() < deadline:
                time.sleep(0.05)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
    assert os.listdir(root / ".dss" / "tmp"), "the killed write left its staged temporary"
    assert not (root / "partial.fits").exists()
    with (
        dss_process(root, "--tokens", str(tokens)) as (_process, url),
        StorageClient(url, TOKEN) as agent,
    ):
        assert os.listdir(root / ".dss" / "tmp") == []
        assert [stat.path for stat in agent.list()] == ["kept.fits"]


def test_serve_checks_tokens_with_the_archive(sqlite_template: Path, tmp_path: Path) -> None:
    root = tmp_path / "SDC-FR"
    root.mkdir()
    with (
        sqlite_sessions(sqlite_template, tmp_path) as (database, sessions),
        archive_server(sessions, database) as (archive, tokens),
        dss_process(root, "--archive-url", archive) as (_process, url),
    ):
        with StorageClient(url, tokens["agent_fr"]) as client:
            assert client.put("f", io.BytesIO(b"bytes")).size == 5
        with StorageClient(url, "unknown", retries=0) as stranger, pytest.raises(Unauthorized):
            stranger.stat("f")


def test_serve_refuses_a_missing_root_and_a_missing_token_source(tmp_path: Path) -> None:
    missing = run_sdc("dss", "serve", "--site", "SDC-FR", "--root", str(tmp_path / "nope"))
    assert missing.returncode == 1 and f"{tmp_path / 'nope'}: does not exist" in missing.stderr
    (tmp_path / "file").write_text("")
    a_file = run_sdc("dss", "serve", "--site", "SDC-FR", "--root", str(tmp_path / "file"))
    assert a_file.returncode == 1 and "is a file, not a directory" in a_file.stderr
    no_tokens = run_sdc("dss", "serve", "--site", "SDC-FR", "--root", str(tmp_path))
    assert no_tokens.returncode == 1 and "--archive-url or --tokens" in no_tokens.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("tokens: [{sha256: 12, name: x, role: agent}]\n")
    bad_tokens = run_sdc(
        "dss", "serve", "--site", "SDC-FR", "--root", str(tmp_path), "--tokens", str(bad)
    )
    assert bad_tokens.returncode == 1 and "tokens[0]" in bad_tokens.stderr
    # it used to serve on and refuse every request with a 503 only the clients saw
    nowhere = f"http://127.0.0.1:{free_port()}"
    unreachable = run_sdc(
        "dss", "serve", "--site", "SDC-FR", "--root", str(tmp_path), "--archive-url", nowhere,
        timeout=60,
    )  # fmt: skip
    assert unreachable.returncode == 1, unreachable.stderr
    assert f"cannot reach the archive at {nowhere}" in unreachable.stderr


def test_hash_token_prints_the_digest_for_a_tokens_file() -> None:
    sdc = Path(sys.executable).with_name("sdc")
    result = subprocess.run(
        [str(sdc), "dss", "hash-token"], input="s3cret\n", capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.strip() == token_digest("s3cret")


def test_a_site_admin_sets_dss_url_in_sites_yaml_and_audits(tmp_path: Path) -> None:
    """The README's deployment steps: load-sites, server, dss serve, audit. Without a
    dss_url the audit said only '(sdc archive load-sites)', which nothing documented."""
    sites = tmp_path / "sites.yaml"
    root = tmp_path / "fr"
    root.mkdir()
    (root / "stray.fits").write_bytes(b"not registered")
    port = free_port()
    entry = "{name: SDC-FR, country: FR, cores: 90, storage_tb: 14"
    sites.write_text(f"sites:\n  - {entry}}}\n")
    assert run_sdc("archive", "init", cwd=tmp_path).returncode == 0
    assert run_sdc("archive", "load-sites", str(sites), cwd=tmp_path).returncode == 0
    token = run_sdc(
        "archive", "token", "create", "--role", "agent", "--site", "SDC-FR", cwd=tmp_path
    ).stdout.strip()
    with sdc_server(tmp_path) as archive:
        audit = ("dss", "audit", "--site", "SDC-FR", "--archive-url", archive, "--token", token)
        no_url = run_sdc(*audit, cwd=tmp_path)
        assert no_url.returncode == 1 and "add `dss_url:" in no_url.stderr, no_url.stderr
        sites.write_text(f'sites:\n  - {entry}, dss_url: "http://127.0.0.1:{port}"}}\n')
        assert run_sdc("archive", "load-sites", str(sites), cwd=tmp_path).returncode == 0
        with dss_process(root, "--archive-url", archive, port=port):
            found = run_sdc(*audit, "--json", cwd=tmp_path)
    assert found.returncode == 1, found.stderr  # a finding: exit 1 without --fix
    assert json.loads(found.stdout)["dark"] == ["stray.fits"]
