"""`sdc dss serve --backend rucio` as an operator runs it, against the real Rucio server."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from dss.client import StorageClient
from dss.tokens import token_digest
from tests.acceptance.cli import run_sdc
from tests.rucio_server import RucioServer, free_port

pytestmark = pytest.mark.rucio
REPO = Path(__file__).resolve().parents[2]
TOKEN = "de-agent-secret"


def rucio_env(server: RucioServer, tmp_path: Path) -> dict[str, str]:
    """The site's settings as an operator would give them: environment variables."""
    tokens = tmp_path / "tokens.yaml"
    entry = f'{{sha256: "{token_digest(TOKEN)}", name: agent-de, role: agent, site: SDC-DE}}'
    tokens.write_text(f"tokens:\n  - {entry}\n")
    return {
        "SDC_RUCIO__URL": server.url,
        "SDC_RUCIO__ACCOUNT": server.account,
        "SDC_RUCIO__USERNAME": server.username,
        "SDC_RUCIO__PASSWORD": server.password,
        "SDC_RUCIO__DEFAULT_SCOPE": server.scope,
        "SDC_RUCIO__SITE_RSES": '{"SDC-DE": "SDC-DE_DISK"}',
        "SDC_DSS__TOKENS_FILE": str(tokens),
    }


def test_serve_stores_on_the_rse_and_the_stock_rucio_cli_sees_it(
    rucio_server: RucioServer, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    port = free_port()
    env = {**os.environ, **rucio_env(rucio_server, tmp_path)}
    sdc = Path(sys.executable).with_name("sdc")
    command = [str(sdc), "dss", "serve", "--site", "SDC-DE", "--backend", "rucio"]
    command += ["--root", str(work), "--port", str(port)]  # the RSE comes from site_rses
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    path = f"products/{uuid.uuid4().hex}.fits"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/api/v1/health", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "no DSS"
                time.sleep(0.2)
        with StorageClient(url, TOKEN) as agent:
            stored = agent.put(path, io.BytesIO(b"VIS frame"))
            assert agent.stat(path) == stored
    finally:
        process.terminate()
        process.wait(20)
    rucio = Path(sys.executable).with_name("rucio")
    listed = subprocess.run(
        [str(rucio), "replica", "list", "file", f"{rucio_server.scope}:{path}"],
        env={**os.environ, "RUCIO_CONFIG": str(rucio_server.client_cfg)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert stored.adler32 in listed.stdout and "SDC-DE_DISK" in listed.stdout


def test_serve_refuses_an_rse_without_quota_saying_how_to_fix_it(
    rucio_server: RucioServer, tmp_path: Path
) -> None:
    rse = f"NOQUOTA{uuid.uuid4().hex[:6].upper()}"
    rucio_server.add_posix_rse(rse, quota=False)
    done = run_sdc(
        "dss", "serve", "--site", "SDC-DE", "--backend", "rucio", "--rse", rse,
        "--root", str(tmp_path), "--port", str(free_port()),
        env=rucio_env(rucio_server, tmp_path),
    )  # fmt: skip
    assert done.returncode == 1
    assert f"rucio account limit set root --rse {rse} --bytes infinity" in done.stderr


def test_an_unreachable_rucio_is_one_clear_line(tmp_path: Path) -> None:
    """rucio-clients printed its own red log lines (the raw connection error, three times)
    before the command's message."""
    assert run_sdc("archive", "init", cwd=tmp_path).returncode == 0
    sites = run_sdc("archive", "load-sites", str(REPO / "config" / "sites.yaml"), cwd=tmp_path)
    assert sites.returncode == 0, sites.stderr
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        "SDC_RUCIO__URL": url, "SDC_RUCIO__ACCOUNT": "root", "SDC_RUCIO__USERNAME": "u",
        "SDC_RUCIO__PASSWORD": "p", "SDC_RUCIO__SITE_RSES": '{"SDC-DE": "SDC-DE_DISK"}',
    }  # fmt: skip
    result = run_sdc("archive", "rucio", "sync", "--site", "SDC-DE", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: Rucio at {url} is unreachable"), result.stderr
    assert "HTTPConnectionPool" not in result.stderr and "ERROR" not in result.stderr
