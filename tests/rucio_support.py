"""Shared by the Rucio mirror and rules tests: a scope of the test's own on the session's
Rucio server, an archive on SQLite with the example sites, and the CLI run in-process."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner, Result

from dss.rucio_client import rucio_client
from dss.rucio_config import RucioConfig
from eas.db import make_engine, make_session_factory, transaction
from eas.loaders import load_sites
from eas.migrate import upgrade
from sdc.cli import app
from tests.archive_support import SITES_YAML
from tests.rucio_server import RucioServer


@dataclass
class Deployment:
    """An archive and a Rucio scope of one test, and the `sdc` config file naming both."""

    config_file: Path
    archive_url: str
    scope: str
    rucio: RucioConfig
    client: Any

    def sdc(self, *args: str) -> Result:
        """Run `sdc --config <file> ARGS` in-process."""
        return CliRunner().invoke(app, ["--config", str(self.config_file), *args])

    def sessions(self) -> Any:
        """A session factory on the archive (dispose its engine: `.kw["bind"].dispose()`)."""
        return make_session_factory(make_engine(self.archive_url))


def deployment(server: RucioServer, tmp_path: Path, **rucio: Any) -> Deployment:
    """A fresh archive with the nine example sites and a fresh scope for every survey."""
    scope = f"t{uuid.uuid4().hex[:12]}"
    config = server.config(default_scope=scope, survey_scopes={"wide": scope}, **rucio)
    client = rucio_client(server.config())
    client.add_scope(server.account, scope)
    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        load_sites(session, SITES_YAML)
    engine.dispose()
    settings = {
        "data_dir": str(tmp_path / "sdc-data"),
        "database_url": url,
        "rucio": config.model_dump(mode="json")
        | {"password": config.password.get_secret_value() if config.password else None},
    }
    config_file = tmp_path / "sdc.yaml"
    config_file.write_text(yaml.safe_dump(settings))
    return Deployment(config_file, url, scope, config, client)
