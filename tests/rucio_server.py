"""The real Rucio server for tests: started once per session on a fresh database, then removed.

`tests/rucio-local.sh` (the recipe, copied into the repo) runs the Rucio 41.5.1 REST server
under gunicorn in its own virtual environment, named by `RUCIO_PYTHON`; the project's own
environment only has `rucio-clients`. Without `RUCIO_PYTHON` the first existing default is used:
`.ci-rucio-venv/` in the repo (what `.ci/run` makes), then `../rucio-venv/` beside the repo
(a developer's, shared by every worktree). Create one with

    python3 -m venv ../rucio-venv
    ../rucio-venv/bin/pip install 'rucio[postgresql]==41.5.1' 'rucio-clients==41.5.1' gunicorn

The fixture never installs anything (`RUCIO_LOCAL_INSTALL=0`): a missing venv skips locally
with the reason and fails under CI=true.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dss.rucio_config import RucioConfig
from tests.services import port_open, require

RECIPE = Path(__file__).with_name("rucio-local.sh")
REPO = Path(__file__).resolve().parent.parent
DEFAULT_VENVS = (REPO / ".ci-rucio-venv", REPO.parent / "rucio-venv")

ACCOUNT = "root"
USERNAME = "ddmlab"
PASSWORD = "secret"  # the recipe's bootstrap identity of account root
SCOPE = "euclid"  # the scope tests use; `survey_scopes` maps the survey "euclid-wide" to it
SITE_RSES = {"SDC-DE": "SDC-DE_DISK", "SDC-FR": "SDC-FR_DISK"}
# Every direction and the third-party-copy ones need a priority: rucio stores NULL otherwise
# and uploads fail with "No protocol for provided settings found" (recipe pitfall 2).
FULL_DOMAINS = {
    "lan": {"read": 1, "write": 1, "delete": 1},
    "wan": {
        "read": 1,
        "write": 1,
        "delete": 1,
        "third_party_copy_read": 1,
        "third_party_copy_write": 1,
    },
}


@dataclass
class RucioServer:
    """A running test server: where it answers, who may log in, and the RSEs made for tests."""

    url: str
    directory: Path
    client_cfg: Path
    database: str
    account: str = ACCOUNT
    username: str = USERNAME
    password: str = PASSWORD
    scope: str = SCOPE
    site_rses: dict[str, str] = field(default_factory=lambda: dict(SITE_RSES))

    def rse_root(self, rse: str) -> Path:
        """The directory behind an RSE's posix (`file://`) protocol."""
        return self.directory / "rse" / rse

    def config(self, **changes: object) -> RucioConfig:
        """The `rucio:` settings of a deployment that uses this server."""
        base = RucioConfig(
            url=self.url,
            account=self.account,
            auth_type="userpass",
            username=self.username,
            password=self.password,
            default_scope=self.scope,
            survey_scopes={"euclid-wide": self.scope},
            site_rses=dict(self.site_rses),
        )
        return RucioConfig.model_validate(base.model_dump() | changes)

    def add_posix_rse(
        self, rse: str, *, domains: dict[str, dict[str, int]] | None = None, quota: bool = True
    ) -> Path:
        """Create `rse` with a `file://` protocol under this server's directory; its root."""
        from dss.rucio_client import rucio_client

        client = rucio_client(self.config())
        root = self.rse_root(rse)
        root.mkdir(parents=True, exist_ok=True)
        client.add_rse(rse)
        client.add_protocol(
            rse,
            {
                "scheme": "file",
                "hostname": "localhost",
                "port": 0,
                "prefix": str(root),
                "impl": "rucio.rse.protocols.posix.Default",
                "domains": domains if domains is not None else FULL_DOMAINS,
            },
        )
        if quota:
            client.set_local_account_limit(self.account, rse, -1)  # -1: infinity
        return root


def rucio_python() -> Path | None:
    """The interpreter of the server's venv: RUCIO_PYTHON, else the first default that exists."""
    named = os.environ.get("RUCIO_PYTHON")
    if named:
        return Path(named)
    for venv in DEFAULT_VENVS:
        if (venv / "bin" / "python").exists():
            return venv / "bin" / "python"
    return None


def free_port() -> int:
    """A loopback port nothing listens on now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def recipe(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `tests/rucio-local.sh command` with the server's environment."""
    return subprocess.run(
        ["bash", str(RECIPE), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@contextmanager
def running_rucio_server(directory: Path) -> Iterator[RucioServer]:
    """A real Rucio server on its own database, `directory` and port, with a scope and two
    RSEs; removed (server, database, directory) afterwards. Skips/fails via `require`."""
    python = rucio_python()
    require(
        python is not None and python.exists(),
        "no Rucio server venv: set RUCIO_PYTHON or create ../rucio-venv (tests/rucio_server.py)",
    )
    require(port_open("127.0.0.1", 5432), "PostgreSQL not reachable at 127.0.0.1:5432")
    assert python is not None
    port = free_port()
    env = os.environ | {
        "RUCIO_PYTHON": str(python),
        "RUCIO_LOCAL_DIR": str(directory),
        "RUCIO_LOCAL_PORT": str(port),
        "RUCIO_LOCAL_DB": f"rucio_test_{uuid.uuid4().hex[:10]}",
        "RUCIO_LOCAL_INSTALL": "0",
    }
    env.pop("RUCIO_CONFIG", None)
    started = recipe("start", env)
    if started.returncode != 0:
        recipe("reset", env)
        require(False, f"the Rucio server did not start: {started.stderr.strip()[-500:]}")
    server = RucioServer(
        url=f"http://127.0.0.1:{port}",
        directory=directory,
        client_cfg=directory / "etc" / "client.cfg",
        database=env["RUCIO_LOCAL_DB"],
    )
    try:
        from dss.rucio_client import rucio_client

        rucio_client(server.config()).add_scope(server.account, server.scope)
        for rse in server.site_rses.values():
            server.add_posix_rse(rse)
        yield server
    finally:
        stopped = recipe("reset", env)
        if stopped.returncode != 0:
            print(f"rucio-local.sh reset failed: {stopped.stderr[-500:]}")
