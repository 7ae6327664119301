"""The demo's federation on one machine: the archive and one DSS per site in this process,
one agent per site as a real `sdc agent run` subprocess that pulls over HTTP or consumes its
site's Celery queue, as the scheduler's transport says."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy.orm import Session, sessionmaker

from dss.config import DssConfig
from dss.server import create_app as dss_app
from eas.core.tokens import create_token
from eas.db import transaction
from eas.models import Site
from sdc.composition import server_app
from sdc.demo.serving import Served, serve_in_thread
from sdc.settings import Settings


@dataclass
class Fleet:
    """Everything the demo runs, with the tokens it minted."""

    workspace: Path
    archive: Served
    storage: dict[str, Served]
    tokens: dict[str, str]
    environment: Mapping[str, str]  # what the agents start with (Settings.environment)
    transport: str = "http"
    broker_url: str | None = None
    agents: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def archive_url(self) -> str:
        """Base URL of the archive + scheduler API."""
        return self.archive.url

    def start_agent(self, site: str, agent_settings: Path) -> None:
        """Start (or restart) the agent of `site` as a subprocess; its log goes to logs/."""
        sdc = Path(sys.executable).with_name("sdc")
        command = [str(sdc), "--config", str(agent_settings), "agent", "run", "--site", site]
        command += [
            "--archive-url",
            self.archive_url,
            "--workroot",
            str(self.workspace / "work" / site),
            "--transport",
            self.transport,
        ]
        # secrets go through the environment, not the command line `ps` shows
        env = {**self.environment, "SDC_AGENT__TOKEN": self.tokens[site]}
        if self.broker_url:
            env["SDC_AGENT__BROKER_URL"] = self.broker_url
        with (self.workspace / "logs" / f"agent-{site}.log").open("ab") as log:
            self.agents[site] = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workspace
            )

    def kill_agent(self, site: str) -> None:
        """kill -9 the agent of `site` (it gets no chance to hand its job back)."""
        process = self.agents.pop(site)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        """Drain the agents (SIGTERM), then stop the servers."""
        for process in self.agents.values():
            process.send_signal(signal.SIGTERM)
        for process in self.agents.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        self.agents.clear()
        for served in self.storage.values():
            served.stop()
        self.archive.stop()


def mint_tokens(sessions: sessionmaker[Session], sites: list[str]) -> dict[str, str]:
    """An agent token per site, plus admin and reader tokens (shown to the user at the end)."""
    with transaction(sessions) as session:
        tokens = {
            site: create_token(session, "agent", f"demo-agent-{site}", site)[1] for site in sites
        }
        tokens["admin"] = create_token(session, "admin", "demo-admin")[1]
        tokens["reader"] = create_token(session, "reader", "demo-reader")[1]
    return tokens


def start_fleet(
    settings: Settings, sessions: sessionmaker[Session], sites: list[str], workspace: Path
) -> Fleet:
    """Serve the archive and every site's DSS; record the DSS URLs in the archive. Agents
    started later use the scheduler's transport (`settings.scheduler`).

    Ports are kept in `ports.json`: a resumed demo serves on the same ones, so the replica
    URLs stored by the first run stay valid.
    """
    (workspace / "logs").mkdir(parents=True, exist_ok=True)
    port_file = workspace / "ports.json"
    ports: dict[str, int] = json.loads(port_file.read_text()) if port_file.exists() else {}
    tokens = mint_tokens(sessions, sites)
    archive = serve_in_thread(server_app(settings), port=ports.get("archive", 0))
    storage = {}
    for site in sites:
        root = workspace / "storage" / site
        root.mkdir(parents=True, exist_ok=True)
        config = DssConfig(site=site, root=root, archive_url=archive.url, token_cache_seconds=60)
        storage[site] = serve_in_thread(dss_app(config), port=ports.get(site, 0))
    served = {"archive": archive, **storage}
    port_file.write_text(json.dumps({name: _port(s.url) for name, s in served.items()}))
    with transaction(sessions) as session:
        for site in sites:
            row = session.get(Site, site)
            assert row is not None
            row.dss_url = storage[site].url
    dispatch = settings.scheduler
    return Fleet(
        workspace,
        archive,
        storage,
        tokens,
        settings.environment,
        dispatch.transport,
        dispatch.broker_url,
    )


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def write_agent_settings(path: Path, pipelines: dict[str, object]) -> Path:
    """The YAML settings every demo agent starts with (tokens come from the environment)."""
    settings = {"agent": {"heartbeat_seconds": 3.0, "poll_seconds": 0.5, "max_parallel": 2,
                          "pipelines": pipelines}}  # fmt: skip
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path
