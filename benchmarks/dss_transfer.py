"""A DSS-to-DSS transfer (archive claim, pull, verify, AVAILABLE) against a bare verified pull.

    python -m benchmarks.dss_transfer               # 256 MiB product, best of 3
    python -m benchmarks.dss_transfer --size 64M

Both move the same bytes from the same source DSS over loopback into the same kind of
storage; the transfer adds the archive's bookkeeping (product, replicas, maintenance, the
exclusive claim, two state changes) and the HTTP request to the destination DSS. Baseline and
subject alternate so both meet the same background load; each keeps its fastest time.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
from pathlib import Path

from benchmarks.dss import best_of, parse_size, timed
from dss.client import StorageClient
from dss.config import DssConfig
from dss.posix import PosixBackend
from dss.pull import pull
from dss.server import create_app as dss_app
from eas.api import create_app as archive_app
from eas.client import ArchiveClient
from eas.core.tokens import create_token
from eas.db import make_engine, make_session_factory, transaction
from eas.loaders import load_sites
from eas.migrate import upgrade
from eas.schemas import ProductIn, ReplicaIn, SiteUpdate
from tests.dss_fixtures import serving

SITES_YAML = Path(__file__).resolve().parents[1] / "config" / "sites.yaml"


def main() -> None:
    """Print both times and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256M", help="product size (e.g. 64M, 1G)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size = parse_size(args.size)
    data = os.urandom(size)
    with tempfile.TemporaryDirectory(prefix="dss-transfer-bench-") as scratch:
        work = Path(scratch)
        url = f"sqlite:///{work / 'archive.sqlite'}"
        engine = make_engine(url)
        upgrade(engine)
        with transaction(make_session_factory(engine)) as session:
            load_sites(session, SITES_YAML)
            token = create_token(session, "admin", "bench", None)[1]
        app = archive_app(url)
        with (
            serving(app) as archive_url,
            serving(dss_app(_dss("SDC-FR", archive_url), backend=PosixBackend(work / "fr"))) as fr,
            serving(dss_app(_dss("SDC-DE", archive_url), backend=PosixBackend(work / "de"))) as de,
            ArchiveClient(archive_url, token) as archive,
            StorageClient(fr, token) as source,
            StorageClient(de, token) as destination,
        ):
            archive.update_site("SDC-FR", SiteUpdate(dss_url=fr))
            archive.update_site("SDC-DE", SiteUpdate(dss_url=de))
            stat = source.put("bench/data.fits", io.BytesIO(data))
            bare_target = PosixBackend(work / "bare")
            runs = iter(range(10_000))

            def bare() -> float:
                to = f"bench/{next(runs)}.fits"
                return timed(lambda: pull(source, "bench/data.fits", bare_target, to=to))

            def transfer() -> float:
                product_id = f"P{next(runs)}"
                archive.register_product(
                    ProductIn(
                        product_id=product_id, product_type="RAW_FRAME", version="1",
                        size_bytes=stat.size, adler32=stat.adler32, md5=stat.md5,
                    )
                )  # fmt: skip
                path = f"bench/{product_id}.fits"
                source.put(path, io.BytesIO(data), checksums=stat.checksums)
                archive.add_replica(product_id, ReplicaIn(site="SDC-FR", url=source.url(path)))
                return timed(lambda: destination.transfer(product_id))

            base, subject = best_of(args.repeat, bare, transfer)
        app.state.engine.dispose()
        engine.dispose()
    mib = size / (1 << 20)
    print(f"bare verified pull   {base:7.3f} s  {mib / base:8.1f} MiB/s")
    print(f"transfer via archive {subject:7.3f} s  {mib / subject:8.1f} MiB/s")
    print(f"ratio transfer/bare throughput: {base / subject:.2f}")


def _dss(site: str, archive_url: str) -> DssConfig:
    return DssConfig(site=site, archive_url=archive_url)


if __name__ == "__main__":
    main()
