"""`sdc scheduler` as an operator runs it, on the embedded SQLite archive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from eas.db import make_engine, make_session_factory, transaction
from eas.models.jobs import Job
from tests.acceptance.cli import run_sdc
from tests.rucio_server import free_port

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_scheduler_cycle_jobs_and_why(tmp_path: Path) -> None:
    env = {"SDC_DATA_DIR": str(tmp_path / "data")}
    not_ready = run_sdc("scheduler", "run", "--once", cwd=tmp_path, env=env)
    assert not_ready.returncode == 1 and "sdc archive init" in not_ready.stderr
    assert run_sdc("archive", "init", cwd=tmp_path, env=env).returncode == 0
    cycle = run_sdc("scheduler", "run", "--once", cwd=tmp_path, env=env)
    assert cycle.returncode == 0, cycle.stderr
    assert "created 0 job(s); queued none" in cycle.stdout
    listing = run_sdc("scheduler", "jobs", "--json", cwd=tmp_path, env=env)
    assert listing.returncode == 0 and listing.stdout.strip() == "[]"
    missing = run_sdc("scheduler", "why", "999", cwd=tmp_path, env=env)
    assert missing.returncode == 1 and "no job 999" in missing.stderr
    bad = run_sdc("scheduler", "priority", "1", "lots", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "integer" in bad.stderr
    bad_state = run_sdc("scheduler", "jobs", "--state", "DONE", cwd=tmp_path, env=env)
    assert bad_state.returncode == 1 and "unknown job state 'DONE'" in bad_state.stderr


def test_a_published_plan_and_arrivals_become_jobs(tmp_path: Path) -> None:
    env = {"SDC_DATA_DIR": str(tmp_path / "data")}
    sites, calendar = str(CONFIG / "sites.yaml"), str(CONFIG / "maintenance.yaml")
    assert run_sdc("archive", "init", cwd=tmp_path, env=env).returncode == 0
    generated = run_sdc(
        "placement", "generate-survey", "--days", "2", "--seed", "3", "--out", "survey",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    placement = ("--survey", "survey", "--sites", sites, "--maintenance", calendar)
    solved = run_sdc(
        "placement", "solve", *placement, "--out", "plan.json", "--time-limit", "5",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert solved.returncode == 0, solved.stderr
    refused = run_sdc("placement", "publish", "plan.json", *placement, cwd=tmp_path, env=env)
    assert refused.returncode == 1 and "unknown site" in refused.stderr
    assert "the archive has no sites yet: load them first" in refused.stderr
    assert run_sdc("archive", "load-sites", sites, cwd=tmp_path, env=env).returncode == 0
    stored = run_sdc("placement", "publish", "plan.json", *placement, cwd=tmp_path, env=env)
    assert stored.returncode == 0 and "stored plan version 1 (parent none)" in stored.stdout
    cycle = run_sdc("scheduler", "run", "--once", cwd=tmp_path, env=env)
    assert cycle.returncode == 0 and "created 0 job(s)" in cycle.stdout  # no data arrived yet


def test_priority_lowered_with_a_negative_change(tmp_path: Path) -> None:
    """The help offers '-5', which click took for an option ('No such option: -5')."""
    env = {"SDC_DATA_DIR": str(tmp_path / "data")}
    assert run_sdc("archive", "init", cwd=tmp_path, env=env).returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'archive.sqlite'}")
    with transaction(make_session_factory(engine)) as session:
        session.add(Job(pipeline="calibrate", state="QUEUED", priority=10))
    engine.dispose()
    lowered = run_sdc("scheduler", "priority", "1", "-5", cwd=tmp_path, env=env)
    assert lowered.returncode == 0, lowered.stderr
    assert "job 1 priority is now 5" in lowered.stdout
    raised = run_sdc("scheduler", "priority", "1", "+10", cwd=tmp_path, env=env)
    assert "job 1 priority is now 15" in raised.stdout
    not_a_number = run_sdc("scheduler", "priority", "1", "-x", cwd=tmp_path, env=env)
    assert not_a_number.returncode == 2 and "integer" in not_a_number.stderr


def test_a_cycle_whose_jobs_cannot_be_announced_fails(tmp_path: Path) -> None:
    """`--once` with a broker that does not answer printed an ALERT and exited 0."""
    env = {"SDC_DATA_DIR": str(tmp_path / "data")}
    assert run_sdc("archive", "init", cwd=tmp_path, env=env).returncode == 0
    sites = run_sdc("archive", "load-sites", str(CONFIG / "sites.yaml"), cwd=tmp_path, env=env)
    assert sites.returncode == 0, sites.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'archive.sqlite'}")
    now = datetime.now(UTC)
    with transaction(make_session_factory(engine)) as session:
        session.add_all(
            Job(pipeline="calibrate", primary_site="SDC-FR", ready_at=now,
                deadline=now + timedelta(days=1))
            for _ in range(2)
        )  # fmt: skip
    nowhere = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    cycle = run_sdc(
        "scheduler", "run", "--once", "--transport", "celery", "--broker", nowhere,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert cycle.returncode == 1, cycle.stderr
    assert "2 queued job(s) could not be announced on the broker" in cycle.stderr
    with make_session_factory(engine)() as session:
        assert [job.state for job in session.query(Job)] == ["QUEUED", "QUEUED"]
    engine.dispose()
