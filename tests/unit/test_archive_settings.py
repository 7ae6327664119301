"""The archive's part of the one Settings object."""

from __future__ import annotations

import pytest

from sdc.settings import Settings


def test_archive_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().archive.token_cache_seconds == 10
    monkeypatch.setenv("SDC_ARCHIVE__TOKEN_CACHE_SECONDS", "0")
    monkeypatch.setenv("SDC_ARCHIVE__MAX_PAGE_SIZE", "50")
    archive = Settings().archive
    assert (archive.token_cache_seconds, archive.max_page_size) == (0, 50)
