"""The `rucio:` part of the one Settings object, and how a client is built from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rucio.common.config import clean_cached_config, config_get_int

from dss.rucio_client import (
    RucioSetupError,
    RucioUnreachable,
    credentials,
    ensure_client_config,
    rucio_client,
)
from dss.rucio_config import RucioConfig
from sdc.settings import Settings
from tests.rucio_server import free_port


def test_rucio_settings_from_yaml_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "rucio:\n"
        "  url: https://rucio.example.org\n"
        "  account: sdc\n"
        "  username: sdc-dss\n"
        "  survey_scopes: {euclid-wide: euclid}\n"
        "  site_rses: {SDC-DE: SDC-DE_DISK}\n"
    )
    monkeypatch.setenv("SDC_RUCIO__PASSWORD", "s3cret")
    monkeypatch.setenv("SDC_RUCIO__TIMEOUT_SECONDS", "20")
    rucio = Settings(config_file=path).rucio
    assert rucio.url == "https://rucio.example.org" and rucio.account == "sdc"
    assert rucio.password is not None and rucio.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(rucio)
    assert rucio.timeout_seconds == 20.0 and rucio.auth_type == "userpass"
    assert rucio.scope_of("euclid-wide") == "euclid"
    assert rucio.rse_of("SDC-DE") == "SDC-DE_DISK"


def test_unmapped_site_or_survey_names_the_setting() -> None:
    rucio = RucioConfig(site_rses={"SDC-DE": "SDC-DE_DISK"})
    with pytest.raises(ValueError, match=r"no RSE for site SDC-FR: add it to rucio.site_rses"):
        rucio.rse_of("SDC-FR")
    with pytest.raises(ValueError, match="no Rucio scope for survey 'deep'"):
        rucio.scope_of("deep")
    assert RucioConfig(default_scope="euclid").scope_of("deep") == "euclid"


def test_unknown_auth_type_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDC_RUCIO__AUTH_TYPE", "kerberos5")
    with pytest.raises(ValueError, match="auth_type"):
        Settings()


def test_credentials_follow_the_auth_type(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    x509 = RucioConfig(auth_type="x509", client_cert=cert, client_key=key)
    assert credentials(x509) == {"client_cert": str(cert), "client_key": str(key)}
    oidc = RucioConfig(auth_type="oidc", oidc={"oidc_scope": "openid", "oidc_auto": True})
    assert credentials(oidc) == {"oidc_scope": "openid", "oidc_auto": True}
    with pytest.raises(RucioSetupError, match="needs rucio.username and rucio.password"):
        credentials(RucioConfig(username="u"))


def test_missing_url_or_account_is_named() -> None:
    with pytest.raises(RucioSetupError, match="rucio.url is not set"):
        rucio_client(RucioConfig())
    with pytest.raises(RucioSetupError, match="rucio.account is not set"):
        rucio_client(RucioConfig(url="http://127.0.0.1:1"))


@pytest.fixture
def no_rucio_cfg(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """rucio-clients caches the config file it read: start and end with none."""
    monkeypatch.delenv("RUCIO_CONFIG", raising=False)
    monkeypatch.delenv("RUCIO_CLIENT_MODE", raising=False)
    clean_cached_config()
    yield monkeypatch
    clean_cached_config()


def test_a_server_config_in_rucio_config_is_refused(
    no_rucio_cfg: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server_cfg = tmp_path / "rucio.cfg"
    server_cfg.write_text("[database]\ndefault = postgresql+psycopg://x@y/z\n")
    no_rucio_cfg.setenv("RUCIO_CONFIG", str(server_cfg))
    config = Settings(rucio={"url": "http://127.0.0.1:1", "account": "root"}).rucio
    with pytest.raises(RucioSetupError, match="server mode.*RUCIO_CLIENT_MODE=1"):
        rucio_client(config.model_copy(update={"username": "u", "password": "p"}))


def test_the_config_file_the_settings_name_is_the_one_rucio_clients_reads(
    no_rucio_cfg: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chosen = tmp_path / "chosen.cfg"
    chosen.write_text("[client]\nprotocol_stat_retries = 3\n")
    ensure_client_config(RucioConfig(client_config=chosen))
    assert config_get_int("client", "protocol_stat_retries") == 3
    ensure_client_config(RucioConfig())  # none named, none of rucio's own: the neutral one
    assert config_get_int("client", "protocol_stat_retries") == 1


def test_an_unreachable_server_is_named(no_rucio_cfg: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    config = RucioConfig(url=url, account="nobody-here", username="u", password="p")
    with pytest.raises(RucioUnreachable, match=f"Rucio at {url} is unreachable"):
        rucio_client(config)
