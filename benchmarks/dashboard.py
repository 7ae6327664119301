"""Dashboard benchmark: each page's time against the archive API answering the same question.

The dashboard's pages are the API's reads plus aggregates and HTML (or a matplotlib
picture); the ratio says what that costs. Both sides run in one process through the same
FastAPI TestClient (no network), on the embedded SQLite archive `sdc demo` uses, filled
with a survey of --obs observations (primary + secondary each, two plan versions), one job
and one raw product with a replica per observation. Ours and the baseline alternate in
rounds; medians are reported.

Run from the repository root:  python benchmarks/dashboard.py [--obs 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eas.core.bulk import insert_rows  # noqa: E402
from eas.core.plans import store_plan  # noqa: E402
from eas.core.sites import list_sites  # noqa: E402
from eas.core.survey import add_observations  # noqa: E402
from eas.core.tokens import create_token  # noqa: E402
from eas.db import make_engine, make_session_factory, transaction  # noqa: E402
from eas.loaders import load_sites  # noqa: E402
from eas.migrate import upgrade  # noqa: E402
from eas.models import DataProduct, Job, Replica  # noqa: E402
from eas.schemas import AssignmentIn, ObservationIn, PlanIn  # noqa: E402
from sdc.composition import server_app  # noqa: E402
from sdc.settings import Settings  # noqa: E402

EPOCH = datetime(2027, 1, 1, tzinfo=UTC)
STATES = ("SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "QUEUED", "RUNNING", "PENDING", "FAILED")


def fill(url: str, observations: int) -> str:
    """Sites, observations, two plans, jobs, products and replicas; returns a reader token."""
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        load_sites(session, REPO / "config" / "sites.yaml")
        sites = [s.name for s in list_sites(session)]
        secret = create_token(session, "reader", "bench")[1]
        add_observations(
            session,
            [
                ObservationIn(
                    obs_id=i,
                    start=EPOCH + timedelta(hours=3 * i),
                    ra=(i * 7.3) % 360,
                    dec=((i * 3.1) % 160) - 80,
                    size_bytes=2_000_000,
                )
                for i in range(observations)
            ],
        )
        for version in (1, 2):
            assignments = []
            for i in range(observations):
                primary = (i + version * (i % 5 == 0)) % len(sites)
                assignments += [
                    AssignmentIn(obs_id=i, role="primary", site=sites[primary]),
                    AssignmentIn(obs_id=i, role="secondary", site=sites[(primary + 1) % 9]),
                ]
            store_plan(session, PlanIn(version=version, solver="bench", assignments=assignments))
        now = datetime.now(UTC)
        insert_rows(
            session,
            Job,
            [
                {
                    "id": i + 1,
                    "pipeline": "calibrate",
                    "parameters": {},
                    "input_product_ids": [],
                    "target_site": sites[i % len(sites)],
                    "priority": 0,
                    "state": STATES[i % len(STATES)],
                    "attempts": 0,
                    "lease_epoch": 0,
                    "requested_resources": {"cores": 2},
                    "created": now,
                    "obs_id": i,
                    "quarantined": False,
                }
                for i in range(observations)
            ],
        )
        insert_rows(
            session,
            DataProduct,
            [
                {
                    "product_id": f"raw-{i:06d}",
                    "product_type": "RAW_FRAME",
                    "obs_id": i,
                    "version": "1",
                    "metadata": {},
                    "size_bytes": 2_000_000,
                    "adler32": "0a0b0c0d",
                    "created": now,
                }
                for i in range(observations)
            ],
        )
        insert_rows(
            session,
            Replica,
            [
                {
                    "product_id": f"raw-{i:06d}",
                    "site_name": sites[i % len(sites)],
                    "url": f"dss://{i}",
                    "state": "AVAILABLE",
                }
                for i in range(observations)
            ],
        )
    engine.dispose()
    return secret


def timed(http: TestClient, path: str, headers: dict[str, str], repeat: int) -> float:
    """Median seconds of `repeat` GETs of `path`."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        answer = http.get(path, headers=headers)
        times.append(time.perf_counter() - start)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
    return statistics.median(times)


def main() -> None:
    """Fill an archive, then time each page against its API baseline."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--obs", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5, help="requests per round and side")
    options = parser.parse_args()
    comparisons = [
        ("sites page", "/", "/api/v1/sites"),
        ("jobs page (newest 500)", "/jobs", "/api/v1/scheduler/jobs?limit=500"),
        ("job page with why", "/jobs/7", "/api/v1/scheduler/jobs/7/why"),
        ("products page (100)", "/products?product_type=RAW_FRAME", "/api/v1/products?limit=100"),
        ("plan diff 1 -> 2", "/placement?from_version=1&to_version=2", "/api/v1/plans/1/diff/2"),
        ("sky map PNG", "/placement/2/sky.png", "/api/v1/plans/2/assignments?role=primary"),
    ]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/archive.sqlite"
        started = time.perf_counter()
        secret = fill(url, options.obs)
        print(f"filled {options.obs} observations in {time.perf_counter() - started:.1f} s")
        app = server_app(Settings(database_url=url, data_dir=Path(folder)))
        with TestClient(app) as http:
            http.post("/login", data={"token": secret})
            api = {"Authorization": f"Bearer {secret}"}
            print(f"{'measurement':28} {'dashboard ms':>13} {'API ms':>8} {'ratio':>6}")
            for name, ours, baseline in comparisons:
                mine, theirs = [], []
                for _ in range(options.rounds):
                    mine.append(timed(http, ours, {}, options.repeat))
                    theirs.append(timed(http, baseline, api, options.repeat))
                a, b = statistics.median(mine), statistics.median(theirs)
                print(f"{name:28} {a * 1e3:13.1f} {b * 1e3:8.1f} {b / a:6.2f}")
        app.state.engine.dispose()


if __name__ == "__main__":
    main()
