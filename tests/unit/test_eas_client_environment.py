"""The archive client reads proxy and CA settings from the environment once, when it is made."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from eas.client import ArchiveClient


class _Proxy(BaseHTTPRequestHandler):
    """An HTTP proxy that answers every request itself and remembers what it was asked."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        _Proxy.seen.append((self.requestline, self.headers.get("Authorization")))
        body = json.dumps({"name": "via-proxy", "role": "reader", "site": None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def proxy_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_environment_proxy_is_used_and_the_bearer_token_kept(
    proxy_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    # A netrc entry for the archive must not replace the bearer token (requests would).
    netrc = tmp_path / "netrc"
    netrc.write_text("machine archive.invalid login someone password secret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    with ArchiveClient("http://archive.invalid:8000", "sdc_token") as client:
        monkeypatch.delenv("HTTP_PROXY")  # read when the client was made, not per request
        assert client.whoami().name == "via-proxy"
    line, authorization = _Proxy.seen[-1]
    assert line == "GET http://archive.invalid:8000/api/v1/auth/whoami HTTP/1.1"
    assert authorization == "Bearer sdc_token"


def test_no_proxy_and_the_ca_bundle_are_honoured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "archive.internal")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with ArchiveClient("https://archive.internal", "t") as inside:
        assert not inside.http.proxies.get("https") and inside.http.verify == str(bundle)
    with ArchiveClient("https://archive.example", "t") as outside:
        assert outside.http.proxies["https"] == "http://proxy.invalid:3128"
