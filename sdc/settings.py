"""The one Settings object: YAML file + `SDC_` environment variables, built at the entry point."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from dss.config import DssConfig
from dss.rucio_config import RucioConfig
from eas.config import ArchiveConfig
from eas.problems import problem_text
from metascheduler.config import SchedulerConfig
from placement.config import PlacementConfig
from sdc_agents.agent.config import AgentConfig
from sdc_agents.pipeline.config import RunnerConfig


class ServerSettings(BaseModel):
    """Where `sdc server` listens."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error

    host: str = "127.0.0.1"
    port: int = 8000


class _PlacementSettings(PlacementConfig):
    """`placement:` with misspelt keys refused like every other section (until
    `placement.config.PlacementConfig` forbids them itself, as the other sections' do)."""

    model_config = ConfigDict(extra="forbid")


class Settings(BaseSettings):
    """Everything configurable, one object.

    Sources, strongest first: explicit keyword arguments, `SDC_*` environment variables
    (nested with `__`, e.g. `SDC_SERVER__PORT=9000`), the variables of other tools that sdc
    honours (`RUCIO_CONFIG` -> `rucio.client_config`), the YAML file named by `SDC_CONFIG`
    or `--config`, then the defaults below. This is the one place that reads the process
    environment: what else needs it (the environment jobs and child processes start from)
    gets `environment`, passed in.
    """

    model_config = SettingsConfigDict(env_prefix="SDC_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Path("sdc-data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is a SQLite file under data_dir",
    )
    server: ServerSettings = ServerSettings()
    archive: ArchiveConfig = ArchiveConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    agent: AgentConfig = AgentConfig()
    pipeline_runner: RunnerConfig = RunnerConfig()
    dss: DssConfig = DssConfig()
    placement: _PlacementSettings = _PlacementSettings()
    rucio: RucioConfig = RucioConfig()

    config_file: Path | None = Field(default=None, exclude=True)
    # never a field: it would be printed with the settings, secrets and all
    _environment: dict[str, str] = PrivateAttr(default_factory=lambda: process_environment())

    @property
    def environment(self) -> Mapping[str, str]:
        """The process environment as it was when these settings were built: what local jobs
        and the processes sdc starts inherit."""
        return MappingProxyType(self._environment)

    @field_validator("database_url")
    @classmethod
    def _installed_driver(cls, url: str | None) -> str | None:
        if url is None:
            return None
        # Imported here: SQLAlchemy costs a DSS or an agent ~20 MB it never uses otherwise.
        from eas.db import archive_database_url

        return archive_database_url(url)

    @property
    def resolved_database_url(self) -> str:
        """The archive database URL: explicit, else the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'archive.sqlite').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _ForeignEnvironmentSource(settings_cls),
            _YamlSource(settings_cls, init_settings),
        )


def process_environment() -> dict[str, str]:
    """A copy of this process's environment variables (for what starts processes without a
    Settings object at hand, such as the benchmarks' servers)."""
    return dict(os.environ)


def settings_problems(error: ValidationError) -> str:
    """What is wrong with the settings: `field (SDC_VARIABLE): message` per problem. The
    values are left out: they may be secrets (a token, a password in a URL)."""
    problems = []
    for problem in error.errors():
        path = [str(part) for part in problem["loc"]]
        where = f"{'.'.join(path)} (SDC_{'__'.join(path).upper()})" if path else "settings"
        problems.append(f"{where}: {problem_text(problem)}")
    return "; ".join(problems)


class ConfigError(ValueError):
    """The configuration file is missing or malformed."""


class _ForeignEnvironmentSource(PydanticBaseSettingsSource):
    """Variables other tools define that sdc honours: `RUCIO_CONFIG`, the rucio.cfg of
    rucio-clients (`rucio.client_config`)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        rucio_config = os.environ.get("RUCIO_CONFIG")
        return {"rucio": {"client_config": rucio_config}} if rucio_config else {}


class _YamlSource(PydanticBaseSettingsSource):
    """Reads the YAML file named by `config_file` (init kwarg) or `SDC_CONFIG`."""

    def __init__(self, settings_cls: type[BaseSettings], init: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._init = init

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = self._init().get("config_file") or os.environ.get("SDC_CONFIG")
        if not path:
            return {}
        return load_yaml_mapping(Path(path))


def load_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping; raise ConfigError naming the file otherwise."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data
