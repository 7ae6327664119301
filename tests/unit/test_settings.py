"""Settings: defaults, YAML file, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from eas.db import make_engine
from sdc.settings import ConfigError, Settings, settings_problems


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


def test_rucio_config_reaches_the_rucio_settings_and_the_environment_is_passed_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RUCIO_CONFIG", str(tmp_path / "rucio.cfg"))
    monkeypatch.setenv("SDC_TEST_MARK", "seen")
    settings = Settings(rucio={"url": "http://rucio:443"})
    assert settings.rucio.client_config == tmp_path / "rucio.cfg"
    assert settings.environment["SDC_TEST_MARK"] == "seen"
    assert "SDC_TEST_MARK" not in settings.model_dump_json()  # never printed with the settings
    monkeypatch.setenv("SDC_RUCIO__CLIENT_CONFIG", "/etc/sdc/rucio.cfg")  # sdc's own wins
    assert Settings().rucio.client_config == Path("/etc/sdc/rucio.cfg")


def test_a_postgresql_url_gets_the_installed_driver() -> None:
    """`postgresql://` alone made SQLAlchemy pick psycopg 3, which is not installed: every
    command with such an SDC_DATABASE_URL ended in a ModuleNotFoundError traceback."""
    settings = Settings(database_url="postgresql://sdc:pw@db.example.org:5432/sdc")
    assert settings.resolved_database_url == "postgresql+psycopg2://sdc:pw@db.example.org:5432/sdc"
    make_engine(settings.resolved_database_url).dispose()  # loads the driver, connects to none
    assert Settings(database_url="sqlite:///a.sqlite").resolved_database_url == "sqlite:///a.sqlite"


@pytest.mark.parametrize(
    ("yaml_text", "named"),
    [
        ("agent:\n  tokn: x\n", "agent.tokn (SDC_AGENT__TOKN)"),
        ("placement:\n  tolerence: 0.1\n", "placement.tolerence (SDC_PLACEMENT__TOLERENCE)"),
        ("agent:\n  pipelines:\n    cal: {script: a.py, inputs: {}, outputs: {}, versoin: 2}\n",
         "agent.pipelines.cal.versoin (SDC_AGENT__PIPELINES__CAL__VERSOIN)"),
        ("rucio:\n  acount: root\n", "rucio.acount (SDC_RUCIO__ACOUNT)"),
    ],
)  # fmt: skip
def test_a_misspelt_key_in_any_section_is_refused_by_name(
    tmp_path: Path, yaml_text: str, named: str
) -> None:
    """Only top-level keys were checked: `agent: {tokn: ...}` was silently ignored."""
    path = tmp_path / "s.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ValidationError) as refused:
        Settings(config_file=path)
    assert f"{named}: unknown key (misspelt?)" in settings_problems(refused.value)


def test_a_misspelt_environment_variable_of_a_section_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SDC_DSS__ROOOT", "/data")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert settings_problems(refused.value) == "dss.rooot (SDC_DSS__ROOOT): unknown key (misspelt?)"
