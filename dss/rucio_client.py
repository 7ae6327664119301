"""A `rucio.client.Client` built from `RucioConfig`, never from a global `rucio.cfg`.

Every connection detail (hosts, account, auth type, credentials, CA, timeout, VO) is passed
explicitly, so a `rucio.cfg` lying around on the machine cannot change whom we talk to. One
trap stays: rucio-clients runs in "server mode" (it imports `rucio.core` and reads RSEs from a
database instead of over HTTP) when `RUCIO_CONFIG` names a config with a `[database]` section.
`rucio_client` refuses that setup with a message saying how to fix it. Another: rucio-clients'
storage-protocol layer (used by uploads and downloads) fails with `ConfigNotFound` when no
rucio.cfg exists at all; `ensure_client_config` then points rucio-clients at a neutral
client-only file that holds no connection setting. Which file rucio-clients reads is the
`rucio.client_config` setting (the Settings fill it from `RUCIO_CONFIG`), passed in here.

rucio-clients keeps its auth token in one file per account (`/tmp/<user>/.rucio_<account>/`),
whatever the server: two servers or two identities with the same account name would keep
overwriting each other's token. The file name here also carries a hash of the server URL, the
auth type and the identity, so each (server, account, identity) keeps a token of its own.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from rucio.client import Client
from rucio.common import exception as rucio_errors
from rucio.common.config import clean_cached_config, get_config_dirs, is_client

from dss.backend import StorageMisconfigured, StorageUnavailable
from dss.rucio_config import RucioConfig


class RucioSetupError(ValueError):
    """The Rucio settings are incomplete or the environment would misuse rucio-clients."""


class RucioUnreachable(StorageUnavailable):
    """The Rucio server did not answer (connection refused, timeout, DNS, TLS)."""


class RucioRefused(StorageMisconfigured):
    """The Rucio server refused the login (wrong identity or credentials)."""


def rucio_client(config: RucioConfig) -> Client:
    """A logged-in client for `config`'s server and account (no config file consulted)."""
    if not config.url:
        raise RucioSetupError("rucio.url is not set (`rucio: {url: ...}` or SDC_RUCIO__URL)")
    if not config.account:
        raise RucioSetupError("rucio.account is not set (SDC_RUCIO__ACCOUNT)")
    ensure_client_config(config)
    if not is_client():
        raise RucioSetupError(
            "rucio-clients would run in server mode: RUCIO_CONFIG names a config with a "
            "[database] section; unset RUCIO_CONFIG or set RUCIO_CLIENT_MODE=1"
        )
    with rucio_errors_named(config):
        client = _SettingsClient(
            token_key=token_key(config),
            rucio_host=config.url,
            auth_host=config.auth_url or config.url,
            account=config.account,
            ca_cert=None if config.ca_cert is None else str(config.ca_cert),
            auth_type=config.auth_type,
            creds=credentials(config),
            timeout=config.timeout_seconds,
            vo=config.vo,
            logger=_Demoted(logging.getLogger(__name__), {}),
        )
    client.request_retries = config.request_retries
    return client


NEUTRAL_CONFIG = """\
# Written by sdc (dss/rucio_client.py): rucio-clients' storage-protocol layer needs a rucio.cfg
# to exist. Every connection setting comes from sdc's `rucio:` settings, none from here.
[client]
# rucio-clients re-stats an uploaded file of 0 bytes this many times, sleeping 2**n s (its
# default 6 waits 63 s per empty file; that guards eventually-consistent object stores)
protocol_stat_retries = 1
[common]
multi_vo = False
"""


def ensure_client_config(config: RucioConfig) -> None:
    """Point rucio-clients at a config file: `config.client_config` (from RUCIO_CONFIG or the
    settings), else the rucio.cfg it finds itself, else a neutral client-only one."""
    path = config.client_config
    if path is None:
        if any(os.path.exists(os.path.join(d, "rucio.cfg")) for d in get_config_dirs()):
            return
        path = _neutral_config()
    _tell_rucio_clients(path)


def _neutral_config() -> Path:
    """The neutral client-only config, written once per user (atomically)."""
    path = Path(tempfile.gettempdir()) / f"sdc-rucio-client-{os.getuid()}.cfg"
    if not path.exists() or path.read_text() != NEUTRAL_CONFIG:
        staging = path.with_name(f".{path.name}.{os.getpid()}")
        staging.write_text(NEUTRAL_CONFIG)
        os.replace(staging, path)
    return path


def _tell_rucio_clients(path: Path) -> None:
    """rucio-clients learns its config file from the RUCIO_CONFIG variable only (its own CLI
    sets it for `--config` too): this hands it the path sdc's settings chose, and makes it
    read the file again. It writes the variable, never reads it: what the environment says
    reaches sdc through its Settings."""
    os.environ["RUCIO_CONFIG"] = str(path)
    clean_cached_config()


class _SettingsClient(Client):  # type: ignore[misc]  # rucio-clients is untyped
    """rucio-clients' Client with a token file of its own per (server, account, identity)."""

    def __init__(self, *, token_key: str, **args: Any) -> None:
        self._token_key = token_key
        super().__init__(**args)

    def _get_auth_tokens(self) -> tuple[str | None, str, str, str]:
        configured, expiry_file, token_file, token_dir = super()._get_auth_tokens()
        if configured:  # an auth_token_file_path in a rucio.cfg was asked for explicitly
            return configured, expiry_file, token_file, token_dir
        key = self._token_key
        return None, f"{expiry_file}_{key}", f"{token_file}_{key}", token_dir


class _Demoted(logging.LoggerAdapter):  # type: ignore[type-arg]
    """rucio-clients' client logs each failure it then raises (in red, on its own handler):
    `rucio_errors_named` raises it again naming the server, so its lines go to DEBUG here."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        super().log(logging.DEBUG, msg, *args, **kwargs)


def token_key(config: RucioConfig) -> str:
    """12 hex digits naming the server and identity a token belongs to (no secret in it)."""
    identity = config.username or config.client_cert or config.client_proxy or config.oidc
    text = f"{config.url}|{config.auth_url}|{config.vo}|{config.auth_type}|{identity}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def credentials(config: RucioConfig) -> dict[str, Any]:
    """The `creds` rucio-clients expects for `config.auth_type`."""
    if config.auth_type == "userpass":
        if not config.username or config.password is None:
            raise RucioSetupError(
                "userpass authentication needs rucio.username and rucio.password "
                "(SDC_RUCIO__USERNAME, SDC_RUCIO__PASSWORD)"
            )
        return {"username": config.username, "password": config.password.get_secret_value()}
    if config.auth_type == "x509":
        return {
            "client_cert": _path_or_none(config.client_cert),
            "client_key": _path_or_none(config.client_key),
        }
    if config.auth_type == "x509_proxy":
        return {"client_proxy": _path_or_none(config.client_proxy)}
    if config.auth_type == "oidc":
        return dict(config.oidc)
    return {}


@contextmanager
def rucio_errors_named(config: RucioConfig, doing: str = "") -> Iterator[None]:
    """Turn rucio-clients' and requests' failures into RucioUnreachable / RucioRefused that
    name the server (and what was being done)."""
    where = config.url or "(no rucio.url)"
    prefix = f"{doing}: " if doing else ""
    try:
        yield
    except (
        requests.ConnectionError,
        requests.Timeout,
        ConnectionError,
        TimeoutError,
        rucio_errors.ServerConnectionException,
    ) as exc:
        raise RucioUnreachable(f"{prefix}Rucio at {where} is unreachable: {_short(exc)}") from exc
    except rucio_errors.CannotAuthenticate as exc:
        raise RucioRefused(
            f"{prefix}Rucio at {where} refused the login of account {config.account} "
            f"({config.auth_type}): {_short(exc)}"
        ) from exc
    except rucio_errors.RucioException as exc:
        if _is_connection_failure(exc):
            raise RucioUnreachable(
                f"{prefix}Rucio at {where} is unreachable: {_short(exc)}"
            ) from exc
        raise


def _is_connection_failure(exc: BaseException) -> bool:
    """rucio-clients wraps some connection errors in its own exceptions; find them."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, requests.ConnectionError | requests.Timeout | ConnectionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "Max retries exceeded" in str(exc) or "Connection refused" in str(exc)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


def _path_or_none(path: object) -> str | None:
    return None if path is None else str(path)
