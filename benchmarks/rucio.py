"""Rucio benchmarks against the real Rucio 41.5.1 server (tests/rucio-local.sh), same run:

1. `sdc archive rucio sync` of N products (default 10,000: 4/5 of them observation products,
   8 per observation, 1/5 tile products, 8 per tile; so N/10 + N/40 datasets to create and N
   attachments) vs the same file registrations (same sizes, checksums and metadata) done
   directly with `Client().add_replicas` in batches of 1,000.
   Throughput ratio = median baseline seconds / median sync seconds (target >= 0.8), the two
   alternating who goes first each round. A second sync is timed too (it must change nothing).
2. The plan as rules: a round-robin plan of a D-day survey (default 365) on the nine example
   sites published as rules (the Rucio part of `publish --to-rucio`: DIDs, listing, diff,
   bulk rule calls) -> rules per second and HTTP calls; then a re-plan that moves the
   primary of 100 observations -> the rule changes it makes and its HTTP calls.
   `--injection immediate|judge` and `--lanes N` set `rucio.rule_injection` and
   `rucio.write_lanes` (docs/rucio.md).

Run from the repository root:  python benchmarks/rucio.py [--products 10000] [--days 365]
    [--only sync|rules] [--injection immediate|judge] [--lanes 2]
Needs PostgreSQL and the Rucio server venv (RUCIO_PYTHON or ../rucio-venv; see
tests/rucio_server.py). The server, its database and directory are removed afterwards.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this file's directory comes first on sys.path and this module, named
# `rucio`, would shadow the rucio-clients package: put the repository there instead.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks"]

from typer.testing import CliRunner  # noqa: E402

from dss.rucio_client import rucio_client  # noqa: E402
from eas.core import products as product_core  # noqa: E402
from eas.core import replicas as replica_core  # noqa: E402
from eas.core import survey as survey_core  # noqa: E402
from eas.db import make_engine, make_session_factory, transaction  # noqa: E402
from eas.loaders import load_sites  # noqa: E402
from eas.migrate import upgrade  # noqa: E402
from eas.rucio_mirror.naming import ProductRecord, file_meta  # noqa: E402
from eas.schemas import ObservationIn, ProductIn, ReplicaIn, TileIn  # noqa: E402
from tests.rucio_server import RucioServer, running_rucio_server  # noqa: E402

EPOCH = datetime(2027, 1, 1, tzinfo=UTC)
print = functools.partial(print, flush=True)  # noqa: A001  # long runs: show progress
SITES_YAML = REPO / "config" / "sites.yaml"


def counting(client: Any) -> Counter[str]:
    """Count the HTTP requests `client` makes, by method."""
    calls: Counter[str] = Counter()

    def hook(response: Any, *args: Any, **kwargs: Any) -> None:
        calls[response.request.method] += 1

    client.session.hooks["response"].append(hook)
    return calls


def archive_with_products(where: Path, n: int) -> tuple[str, list[ProductIn]]:
    """A SQLite archive with `n` products at SDC-DE: four in five belong to an observation
    (8 per observation), one in five to a tile (8 per tile, a tile per 4 observations)."""
    url = f"sqlite:///{where / 'archive.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    n_obs = max(1, n // 10)
    products = []
    for i in range(n):
        data = f"product {i}".encode()
        of_tile = i % 5 == 4
        products.append(
            ProductIn(
                product_id=f"EUC_{uuid.uuid4().hex[:16]}",
                product_type="MER_CATALOG" if of_tile else "CALIBRATED_FRAME",
                obs_id=None if of_tile else (i // 5 * 4 + i % 5) % n_obs,
                tile_id=(i // 5) % max(1, n_obs // 4) if of_tile else None,
                version="1.0",
                metadata={"band": "VIS", "exposure": i % 7},
                size_bytes=len(data),
                adler32=f"{zlib.adler32(data) & 0xFFFFFFFF:08x}",
            )
        )
    with transaction(make_session_factory(engine)) as session:
        load_sites(session, SITES_YAML)
        survey_core.add_observations(
            session,
            [
                ObservationIn(
                    obs_id=o, start=EPOCH + timedelta(hours=o), ra=10, dec=0, size_bytes=1
                )
                for o in range(n_obs)
            ],
        )
        survey_core.add_tiles(
            session,
            [
                TileIn(
                    tile_id=t,
                    ra=10,
                    dec=0,
                    radius_deg=0.4,
                    obs_ids=[o for o in range(4 * t, min(4 * t + 4, n_obs))],
                )
                for t in range((n_obs + 3) // 4)
            ],
        )
        for p in products:
            product_core.register_product(session, p)
            replica_core.add_replica(
                session, p.product_id, ReplicaIn(site="SDC-DE", url=p.product_id)
            )
    engine.dispose()
    return url, products


def sync_benchmark(server: RucioServer, where: Path, n: int, rounds: int) -> None:
    import yaml

    from sdc.cli import app

    url, products = archive_with_products(where, n)
    admin = rucio_client(server.config())
    ours, base, again = [], [], []
    for r in range(rounds):
        scope_ours, scope_base = f"bs{r}{uuid.uuid4().hex[:8]}", f"bb{r}{uuid.uuid4().hex[:8]}"
        admin.add_scope(server.account, scope_ours)
        admin.add_scope(server.account, scope_base)
        config = server.config(
            default_scope=scope_ours,
            survey_scopes={"wide": scope_ours},
            timeout_seconds=900,  # 1,000 files a call can take over a minute under load
        )
        settings = {
            "database_url": url,
            "rucio": config.model_dump(mode="json") | {"password": server.password},
        }
        config_file = where / "sdc.yaml"
        config_file.write_text(yaml.safe_dump(settings))
        files = [
            {
                "scope": scope_base,
                "name": p.product_id,
                "bytes": p.size_bytes,
                "adler32": p.adler32,
                "meta": file_meta(
                    ProductRecord(
                        p.product_id,
                        scope_base,
                        p.product_type,
                        p.version,
                        p.size_bytes,
                        p.adler32,
                        obs_id=p.obs_id,
                        tile_id=p.tile_id,
                        metadata=p.metadata,
                    )
                ),
            }
            for p in products
        ]
        runner = CliRunner()
        cmd = [
            "--config",
            str(config_file),
            "archive",
            "rucio",
            "sync",
            "--site",
            "SDC-DE",
            "--json",
        ]
        # alternate who goes first, so neither always meets a warmer server
        order = ("ours", "base") if r % 2 == 0 else ("base", "ours")
        for who in order:
            start = time.perf_counter()
            if who == "ours":
                result = runner.invoke(app, cmd)
                assert result.exit_code == 0, result.output
                ours.append(time.perf_counter() - start)
            else:
                client = rucio_client(server.config(timeout_seconds=900))
                for i in range(0, len(files), 1000):
                    client.add_replicas(rse="SDC-DE_DISK", files=files[i : i + 1000])
                base.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = runner.invoke(app, cmd)
        again.append(time.perf_counter() - start)
        assert '"replicas_added": 0' in result.output and '"attachments_added": 0' in result.output
    med_ours, med_base = statistics.median(ours), statistics.median(base)
    print(f"sync of {n} products (median of {rounds} rounds; datasets + attachments included)")
    pairs = list(zip(ours, base, strict=True))
    print(f"  per round, ours / base : {[f'{o:.1f}/{b:.1f}' for o, b in pairs]}")
    print(f"  sdc archive rucio sync : {med_ours:7.2f} s  {n / med_ours:8.0f} products/s")
    print(f"  add_replicas x1000     : {med_base:7.2f} s  {n / med_base:8.0f} files/s")
    print(f"  throughput ratio       : {med_base / med_ours:.2f}  (target >= 0.8)")
    print(f"  per-round ratios       : {[f'{b / o:.2f}' for o, b in pairs]}")
    print(f"  second sync (no change): {statistics.median(again):7.2f} s")


def rules_benchmark(server: RucioServer, days: int, injection: str, lanes: int) -> None:
    import numpy as np

    from metascheduler.plan_import import archive_id
    from metascheduler.rucio_publish import (
        apply_changes,
        create_collections,
        missing_collections,
        plan_rules,
        read_rules,
    )
    from metascheduler.rucio_rules import diff_rules, plan_comment
    from placement.baselines import baseline
    from placement.files import read_maintenance, read_sites
    from placement.generator import SurveySpec, generate_survey
    from placement.model import Plan, Problem, Rules

    sites = read_sites(SITES_YAML)
    names = [s.name for s in sites]
    admin = rucio_client(server.config())
    for name in names:
        if f"{name}_DISK" not in server.site_rses.values():
            server.add_posix_rse(f"{name}_DISK")
    scope = f"pl{uuid.uuid4().hex[:8]}"
    config = server.config(timeout_seconds=900, rule_injection=injection, write_lanes=lanes)
    admin.add_scope(server.account, scope)
    survey = generate_survey(SurveySpec(days=days, seed=1))
    problem = Problem(
        sites, read_maintenance(REPO / "config" / "maintenance.yaml", names), survey, Rules()
    )
    plan = baseline(problem, "round-robin")
    rses = [f"{n}_DISK" for n in names]
    scopes = {archive_id(o): scope for o in survey.obs_ids}

    def publish(p: Plan, version: int) -> tuple[int, float, Counter[str], Any]:
        clients = [rucio_client(config) for _ in range(config.write_lanes)]
        client = clients[0]
        counters = [counting(c) for c in clients]
        start = time.perf_counter()
        now = time.time()  # as the command does: each publish at its own time
        rules = plan_rules(survey, p, rses, scopes, problem.rules.latency_days, now)
        existing = read_rules(client, set(rules.datasets) | set(rules.containers))
        changes = diff_rules(rules.wanted, existing, server.account, rses, now)
        datasets, containers = missing_collections(client, rules)
        create_collections(clients, rules, datasets, containers)
        applying = time.perf_counter()
        apply_changes(
            clients,
            changes,
            plan_comment(version),
            lambda n: None,
            asynchronous=config.rule_injection == "judge",
        )
        calls = sum(counters, Counter[str]())
        rule_seconds.append(time.perf_counter() - applying)
        return changes.churn, time.perf_counter() - start, calls, changes

    rule_seconds: list[float] = []

    print(
        f"plan as rules: {days}-day survey, {survey.n_obs} observations, "
        f"{survey.n_tiles} tiles, 9 sites (round-robin plan); rule_injection={injection}, "
        f"{lanes} lane(s)"
    )
    churn, seconds, calls, changes = publish(plan, 1)
    print(
        f"  first publish : {churn} rules in {seconds:.1f} s = {churn / seconds:.0f} rules/s, "
        f"{sum(calls.values())} HTTP calls ({dict(calls)}); the rule calls alone "
        f"{rule_seconds[-1]:.1f} s = {churn / rule_seconds[-1]:.0f} rules/s"
    )
    rng = np.random.default_rng(7)
    moved = rng.choice(survey.n_obs, size=100, replace=False)
    primary = plan.primary.copy()
    for i in moved:
        primary[i] = next(
            s for s in range(len(names)) if s not in (plan.primary[i], plan.secondary[i])
        )
    replan = Plan(primary, plan.secondary, plan.tile_site)
    churn2, seconds2, calls2, changes2 = publish(replan, 2)
    print(
        f"  re-plan moving 100 observations: {len(changes2.add)} added, "
        f"{len(changes2.delete)} deleted (churn {churn2} of {changes2.kept + churn2} rules) "
        f"in {seconds2:.1f} s, {sum(calls2.values())} HTTP calls ({dict(calls2)})"
    )
    churn3, seconds3, calls3, _ = publish(replan, 3)
    print(
        f"  same plan again: churn {churn3} in {seconds3:.1f} s, {sum(calls3.values())} HTTP calls"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--only", choices=("sync", "rules"), help="run one benchmark only")
    parser.add_argument(
        "--injection",
        choices=("immediate", "judge"),
        default="immediate",
        help="rucio.rule_injection of the rules benchmark",
    )
    parser.add_argument("--lanes", type=int, default=2, help="rucio.write_lanes (rules)")
    args = parser.parse_args()
    # a plain `kill` still stops the Rucio server and drops its database (the finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"load average before: {os.getloadavg()}")
    with (
        tempfile.TemporaryDirectory(prefix="sdc-bench-rucio-") as tmp,
        running_rucio_server(Path(tmp) / "rucio") as server,
    ):
        if args.only in (None, "sync"):
            sync_benchmark(server, Path(tmp), args.products, args.rounds)
        if args.only in (None, "rules"):
            rules_benchmark(server, args.days, args.injection, args.lanes)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
