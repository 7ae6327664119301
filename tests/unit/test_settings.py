"""Settings: defaults, YAML file, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdc.settings import ConfigError, Settings


def test_default_database_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/archive.sqlite"


def test_yaml_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("server: {port: 9001}\ndatabase_url: sqlite:///x.db\n")
    monkeypatch.setenv("SDC_SERVER__PORT", "9002")
    settings = Settings(config_file=path)
    assert settings.database_url == "sqlite:///x.db"
    assert settings.server.port == 9002


def test_yaml_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        Settings(config_file=path)
