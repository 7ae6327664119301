"""sites.yaml and maintenance.yaml: every problem named at once, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from eas.db import transaction
from eas.loaders import LoadError, load_maintenance, load_sites
from eas.models import MaintenanceWindow, Site
from tests import archive_support
from tests.archive_support import REPO, SITES_YAML

archive_url = archive_support.archive_url
sessions = archive_support.sessions
sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url


def _count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_example_files_load_and_reload(sessions: sessionmaker[Session]) -> None:
    calendar = REPO / "config" / "maintenance.yaml"
    windows = len(yaml.safe_load(calendar.read_text())["maintenance"])
    with transaction(sessions) as session:
        assert load_sites(session, SITES_YAML) == (9, 0)
        assert load_maintenance(session, calendar) == windows
    with transaction(sessions) as session:
        assert load_sites(session, SITES_YAML) == (0, 9)
        # The same windows again are recognised, not duplicated.
        assert load_maintenance(session, calendar) == windows
    assert _count(sessions, MaintenanceWindow) == windows


def test_every_bad_site_entry_is_listed(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text(
        "sites:\n"
        "  - {name: SDC-A, country: AA, cores: 10, storage_tb: 1}\n"
        "  - {name: SDC-B, country: BB, cores: -3, storage_tb: 1}\n"
        "  - {name: SDC-C, cores: 4, storage_tb: 1}\n"
        "  - {name: SDC-A, country: AA, cores: 1, storage_tb: 1}\n"
        "  - {name: SDC-D, country: DD, cores: 1, storage_tb: 1, stroage_tb: 2}\n"
    )
    with pytest.raises(LoadError) as caught, transaction(sessions) as session:
        load_sites(session, path)
    message = str(caught.value)
    assert str(path) in message and "nothing loaded" in message
    assert "line 3, sites[1] (SDC-B): cores: Input should be greater than or equal to 0" in message
    assert "line 4, sites[2] (SDC-C): country: Field required" in message
    assert "line 5: site SDC-A repeats line 2" in message
    assert "line 6, sites[4] (SDC-D): stroage_tb: unknown key (misspelt?)" in message
    assert _count(sessions, Site) == 0


def test_malformed_yaml_is_named(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text("sites: [unclosed\n")
    with pytest.raises(LoadError, match="malformed YAML"), transaction(sessions) as session:
        load_sites(session, path)
    path.write_text("- just a list\n")
    with pytest.raises(LoadError, match="list under 'sites'"), transaction(sessions) as session:
        load_sites(session, path)


def test_maintenance_with_unknown_site_or_reversed_times_loads_nothing(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with transaction(sessions) as session:
        load_sites(session, SITES_YAML)
    path = tmp_path / "maintenance.yaml"
    path.write_text(
        "maintenance:\n"
        '  - {site: SDC-FR, start: "2027-03-02T08:00:00Z", end: "2027-03-05T18:00:00Z"}\n'
        '  - {site: SDC-XX, start: "2027-03-02T08:00:00Z", end: "2027-03-05T18:00:00Z"}\n'
        '  - {site: SDC-DE, start: "2027-03-06T00:00:00Z", end: "2027-03-04T00:00:00Z"}\n'
    )
    with pytest.raises(LoadError) as caught, transaction(sessions) as session:
        load_maintenance(session, path)
    message = str(caught.value)
    assert "line 3: unknown site 'SDC-XX'" in message
    assert "line 4, maintenance[2]" in message and "is not after start" in message
    assert "Value error" not in message  # pydantic's wrapping, not ours
    assert _count(sessions, MaintenanceWindow) == 0
