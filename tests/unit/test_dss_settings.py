"""The DSS's part of the one Settings object."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdc.settings import Settings


def test_dss_settings_from_yaml_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("dss: {site: SDC-FR, root: /data/sdc-fr, port: 9101}\n")
    monkeypatch.setenv("SDC_DSS__ARCHIVE_URL", "http://eas:8000")
    settings = Settings(config_file=path)
    assert settings.dss.site == "SDC-FR" and settings.dss.port == 9101
    assert settings.dss.root == Path("/data/sdc-fr")
    assert settings.dss.archive_url == "http://eas:8000"
    assert settings.dss.token_cache_seconds == 30.0


def test_negative_cache_ttl_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDC_DSS__TOKEN_CACHE_SECONDS", "-1")
    with pytest.raises(ValueError, match="token_cache_seconds"):
        Settings()
