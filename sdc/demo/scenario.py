"""`sdc demo`: the whole federation working on one machine, phase by phase.

1. plan a small survey; 2. start the archive, a DSS per site and an agent per site;
3. observations arrive day by day at their primary DSS and are replicated to the secondary;
the scheduler makes calibration and tile jobs and the agents run them; 4. mid-run one site
goes into maintenance (its queued work fails over) and comes back, and one agent is killed
with kill -9 (its job is reclaimed and run again without duplicates); 5. a summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.markup import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dss.client import StorageClient
from eas.client import ArchiveClient
from eas.core.sites import add_windows
from eas.db import transaction
from eas.models import Job, MaintenanceWindow
from eas.schemas import MaintenanceWindowIn
from metascheduler.loop import Scheduler
from metascheduler.plan_import import archive_id
from sdc.demo.fleet import Fleet
from sdc.demo.observe import Telescope
from sdc.demo.plan import PlannedSurvey
from sdc_agents.agent.staging import Stager, StagingError

OPEN = ("PENDING", "WAITING", "QUEUED", "CLAIMED", "RUNNING")
Say = Callable[[str], None]


@dataclass
class Events:
    """What the fault-injection part of the demo did."""

    maintenance_site: str | None = None
    failed_over: int = 0
    killed_agent: str | None = None
    killed_job: int | None = None
    secondary_copies: int = 0
    log: list[str] = field(default_factory=list)


def job_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Jobs per state."""
    with sessions() as session:
        rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    return {state: count for state, count in rows}


def _deliveries(planned: PlannedSurvey) -> list[list[tuple[int, str, str]]]:
    """Observations grouped by survey day: (obs_id, primary, secondary) in time order."""
    survey, plan, names = planned.problem.survey, planned.plan, planned.problem.site_names
    first = float(survey.obs_start.min())
    days: dict[int, list[tuple[int, str, str]]] = {}
    for i in sorted(range(survey.n_obs), key=lambda i: float(survey.obs_start[i])):
        day = int((float(survey.obs_start[i]) - first) // 86400)
        obs_id = archive_id(survey.obs_ids[i])
        entry = (obs_id, names[int(plan.primary[i])], names[int(plan.secondary[i])])
        days.setdefault(day, []).append(entry)
    return [days[d] for d in sorted(days)]


class Scenario:
    """Drives the phases against a running fleet."""

    def __init__(
        self,
        fleet: Fleet,
        sessions: sessionmaker[Session],
        scheduler: Scheduler,
        planned: PlannedSurvey,
        workspace: Path,
        say: Say,
    ) -> None:
        self.fleet, self.sessions, self.scheduler = fleet, sessions, scheduler
        self.planned, self.workspace, self.say = planned, workspace, say
        admin = fleet.tokens["admin"]
        self.archive = ArchiveClient(fleet.archive_url, admin)
        self.storage = {s: StorageClient(d.url, admin) for s, d in fleet.storage.items()}
        self.telescope = Telescope(self.archive, self.storage, workspace / "incoming")
        self.events = Events()

    def observe(self, on_day: Callable[[int, int], None]) -> int:
        """Deliver every observation day by day, scheduling as data arrives; returns how many."""
        days = _deliveries(self.planned)
        delivered = 0
        for number, day in enumerate(days):
            for obs_id, primary, secondary in day:
                self.telescope.deliver(obs_id, primary, secondary)
                delivered += 1
            self.cycle()
            if number == len(days) // 2:
                self.enter_maintenance()
            on_day(number + 1, len(days))
        return delivered

    def cycle(self) -> None:
        """One scheduler cycle, after replicating calibrated products to their secondary."""
        self.replicate_to_secondaries()
        self.scheduler.run_once()

    def replicate_to_secondaries(self) -> None:
        """Every calibrated product also lives at its observation's other planned site."""
        version = self.archive.current_plan().version
        sites: dict[int, tuple[str, str]] = {}
        for a in self.archive.list_assignments(version):
            if a.obs_id is not None and a.role in ("primary", "secondary"):
                pair = sites.get(a.obs_id, ("", ""))
                sites[a.obs_id] = (a.site, pair[1]) if a.role == "primary" else (pair[0], a.site)
        for product in self.archive.iter_products(type="CALIBRATED_FRAME"):
            if product.obs_id is None:
                continue
            for site in sites.get(product.obs_id, ()):
                if site not in self.storage:
                    continue
                stager = Stager(site, self.archive, self.storage[site], copy_wait_seconds=5.0)
                try:
                    self.events.secondary_copies += stager.replicate(product.product_id)
                except StagingError as exc:  # an agent's copy is still running: next cycle
                    deferred = escape(f"replication of {product.product_id} deferred: {exc}")
                    self.say(f"[dim]{deferred}")

    def enter_maintenance(self) -> None:
        """The site with most queued work goes down for longer than the latency."""
        with self.sessions() as session:
            row = session.execute(
                select(Job.target_site, func.count())
                .where(Job.state == "QUEUED")
                .group_by(Job.target_site)
                .order_by(func.count().desc())
            ).first()
        if row is None or row[0] is None:
            return
        site = row[0]
        now = datetime.now(UTC)
        with transaction(self.sessions) as session:
            add_windows(
                session,
                [MaintenanceWindowIn(site=site, start=now, end=now + timedelta(days=5),
                                     reason="demo: unplanned storage outage")],
            )  # fmt: skip
        before = job_counts(self.sessions).get("QUEUED", 0)
        report = self.scheduler.run_once()
        self.events.maintenance_site = site
        self.events.failed_over = sum(report.dispatched.values())
        self.say(
            f"{site} entered maintenance: {self.events.failed_over} of {before} queued job(s) "
            "failed over to their secondary sites"
        )

    def leave_maintenance(self) -> None:
        """The site comes back: its window is closed and it takes work again."""
        site = self.events.maintenance_site
        if site is None:
            return
        with transaction(self.sessions) as session:
            for window in session.scalars(
                select(MaintenanceWindow).where(MaintenanceWindow.site_name == site)
            ):
                window.end = datetime.now(UTC)
        self.say(f"{site} is back from maintenance")

    def kill_an_agent(self, timeout: float = 60.0) -> None:
        """kill -9 the agent of a site while it runs a job, then start a fresh one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._open_jobs():
            with self.sessions() as session:
                running = session.scalars(
                    select(Job).where(Job.state == "RUNNING").order_by(Job.id)
                ).first()
            if running is not None and running.target_site in self.fleet.agents:
                site = running.target_site
                self.fleet.kill_agent(site)
                self.events.killed_agent, self.events.killed_job = site, running.id
                self.say(f"killed the agent of {site} (kill -9) while it ran job {running.id}")
                self.fleet.start_agent(site, self.workspace / "agent.yaml")
                return
            self.cycle()
            time.sleep(0.5)

    def _open_jobs(self) -> int:
        counts = job_counts(self.sessions)
        return sum(counts.get(state, 0) for state in OPEN)

    def drain(self, on_progress: Callable[[int, int], None], timeout: float) -> bool:
        """Run scheduler cycles until every job has ended; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.cycle()
            counts = job_counts(self.sessions)
            total = sum(counts.values())
            done = total - sum(counts.get(s, 0) for s in OPEN)
            on_progress(done, total)
            if total and done == total:
                return True
            time.sleep(0.5)
        return False
