"""A client built from the settings alone talks to the real Rucio server (no rucio.cfg)."""

from __future__ import annotations

import pytest
from rucio.common.config import clean_cached_config

from dss.rucio_client import RucioRefused, rucio_client
from tests.rucio_server import RucioServer

pytestmark = pytest.mark.rucio


def test_the_fixture_server_is_ready_for_tests(
    rucio_server: RucioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUCIO_CONFIG", raising=False)
    clean_cached_config()
    client = rucio_client(rucio_server.config())
    assert client.whoami()["account"] == "root"
    assert rucio_server.scope in client.list_scopes()
    rses = {r["rse"] for r in client.list_rses()}
    assert set(rucio_server.site_rses.values()) <= rses
    for rse in rucio_server.site_rses.values():
        protocol = client.get_protocols(rse)[0]
        assert protocol["scheme"] == "file" and protocol["domains"]["wan"]["write"] == 1
        assert client.get_local_account_limit("root", rse)[rse] in (None, -1, float("inf"))


def test_a_wrong_password_is_refused_naming_the_account(rucio_server: RucioServer) -> None:
    config = rucio_server.config(username="intruder", password="wrong")
    with pytest.raises(RucioRefused, match=f"Rucio at {rucio_server.url} refused the login"):
        rucio_client(config)
