"""`sdc demo` as a newcomer runs it: the whole federation on one machine, then a resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from eas.db import make_engine, make_session_factory
from eas.models import DataProduct, Job, Replica
from tests.acceptance.cli import run_sdc


@pytest.mark.slow
def test_demo_runs_end_to_end_and_resumes(tmp_path: Path) -> None:
    workspace = tmp_path / "demo"
    args = ("demo", "--days", "1", "--sites", "3", "--no-serve", "--keep", str(workspace))
    first = run_sdc(*args, cwd=tmp_path, timeout=600)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    out = first.stdout
    assert "entered maintenance" in out and "failed over" in out
    assert "killed the agent of" in out
    assert "failed jobs" in out and "none" in out
    assert "reader token: sdc_" in out
    engine = make_engine(f"sqlite:///{workspace / 'archive.sqlite'}")
    sessions = make_session_factory(engine)

    def census() -> tuple[dict[str, int], int, int]:
        with sessions() as session:
            states = dict(
                session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
            )
            products = session.scalar(select(func.count()).select_from(DataProduct)) or 0
            replicas = session.scalar(select(func.count()).select_from(Replica)) or 0
        return states, products, replicas

    states, products, replicas = census()
    assert set(states) == {"SUCCEEDED"} and states["SUCCEEDED"] > 0
    with sessions() as session:
        calibrated = session.scalar(
            select(func.count(func.distinct(DataProduct.obs_id))).where(
                DataProduct.product_type == "CALIBRATED_FRAME"
            )
        )
        per_obs = session.scalar(
            select(func.count()).where(DataProduct.product_type == "CALIBRATED_FRAME")
        )
    assert calibrated == per_obs  # the killed agent's job left no duplicate product
    ports = json.loads((workspace / "ports.json").read_text())
    assert set(ports) >= {"archive", "SDC-FR"}

    again = run_sdc(*args, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "resuming" in again.stdout
    assert census() == (states, products, replicas)  # nothing recomputed, nothing copied
    engine.dispose()
