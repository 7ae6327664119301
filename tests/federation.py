"""A small federation on loopback for DSS tests: the real archive and one DSS per site.

Every server is real (uvicorn in a thread); tokens are the archive's own, checked by each
DSS through `GET /auth/whoami`.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from dss.backend import StorageBackend
from dss.client import StorageClient
from dss.config import DssConfig
from dss.posix import PosixBackend
from dss.server import create_app as dss_app
from eas.api import create_app as archive_app
from eas.client import ArchiveClient
from eas.core.tokens import create_token
from eas.db import make_engine, make_session_factory, transaction
from eas.schemas import ProductIn, ReplicaIn, SiteUpdate
from tests.archive_support import seed
from tests.dss_fixtures import serving

SITES = ("SDC-FR", "SDC-DE", "SDC-ES")


@dataclass
class Federation:
    """The archive's URL, each site's DSS URL and storage root, tokens by key."""

    archive: str
    dss: dict[str, str]
    roots: dict[str, Path]
    tokens: dict[str, str]

    def admin(self) -> ArchiveClient:
        """An archive client with the admin token."""
        return ArchiveClient(self.archive, self.tokens["admin"], retries=0)

    def storage(self, site: str, token: str = "admin") -> StorageClient:
        """A client of `site`'s DSS with the token under `token`."""
        return StorageClient(self.dss[site], self.tokens[token], retries=1, backoff_seconds=0.05)

    def publish(self, product_id: str, data: bytes, *sites: str, path: str = "") -> str:
        """Store `data` at each of `sites` and register the product and AVAILABLE replicas."""
        path = path or f"products/{product_id}.fits"
        with self.admin() as archive:
            for number, site in enumerate(sites):
                with self.storage(site) as dss:
                    stat = dss.put(path, io.BytesIO(data))
                    url = dss.url(path)
                if number == 0:
                    archive.register_product(
                        ProductIn(
                            product_id=product_id, product_type="RAW_FRAME", version="1",
                            size_bytes=stat.size, adler32=stat.adler32, md5=stat.md5,
                        )
                    )  # fmt: skip
                archive.add_replica(product_id, ReplicaIn(site=site, url=url))
        return path

    def states(self, product_id: str) -> dict[str, str]:
        """Replica state by site."""
        with self.admin() as archive:
            return {r.site: r.state for r in archive.list_replicas(product_id=product_id)}


@contextmanager
def archive_server(
    sessions: sessionmaker[Session],
    archive_url: str,
    prepare: Callable[[FastAPI], None] = lambda app: None,
) -> Iterator[tuple[str, dict[str, str]]]:
    """The real archive over `archive_url`, seeded (sites, one token per role), on loopback.

    `prepare` may add to the app (a middleware) before it starts.
    """
    tokens = seed(sessions)
    with transaction(sessions) as session:
        tokens["agent_es"] = create_token(session, "agent", "agent_es", "SDC-ES")[1]
    app = archive_app(archive_url)
    prepare(app)
    try:
        with serving(app) as url:
            yield url, tokens
    finally:
        app.state.engine.dispose()


@contextmanager
def federation(
    sessions: sessionmaker[Session],
    archive_url: str,
    tmp_path: Path,
    backends: dict[str, StorageBackend] | None = None,
) -> Iterator[Federation]:
    """The archive over `archive_url` (seeded) and a DSS for each of SITES, all on loopback."""
    with ExitStack() as stack:
        archive, tokens = stack.enter_context(archive_server(sessions, archive_url))
        urls, roots = {}, {}
        for site in SITES:
            roots[site] = tmp_path / site
            roots[site].mkdir(exist_ok=True)
            config = DssConfig(site=site, archive_url=archive)
            backend = (backends or {}).get(site) or PosixBackend(roots[site])
            urls[site] = stack.enter_context(serving(dss_app(config, backend=backend)))
        world = Federation(archive, urls, roots, tokens)
        with world.admin() as admin:
            for site, url in urls.items():
                admin.update_site(site, SiteUpdate(dss_url=url))
        yield world


@contextmanager
def sqlite_sessions(template: Path, tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """A fresh archive database copied from the migrated SQLite `template`."""
    path = tmp_path / "archive.sqlite"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        yield url, make_session_factory(engine)
    finally:
        engine.dispose()


@contextmanager
def sqlite_federation(template: Path, tmp_path: Path) -> Iterator[Federation]:
    """The federation over a copy of the migrated SQLite `template`."""
    with (
        sqlite_sessions(template, tmp_path) as (url, sessions),
        federation(sessions, url, tmp_path) as world,
    ):
        yield world
