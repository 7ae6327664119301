"""The site agent: pull a job of this site, stage, run the pipeline, register, report.

`run_once()` handles at most one job and returns what happened; `run_forever()` loops and
drains on SIGTERM (stops claiming, finishes the job in hand, exits). The job's lease is
kept alive by a heartbeat thread; when the scheduler took the job over (stale epoch), the
agent registers nothing and walks away.
"""

from __future__ import annotations

import logging
import shutil
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dss.client import StorageClient
from eas.errors import ArchiveError, Conflict
from eas.job_client import JobClient
from eas.job_schemas import JobPublic, JobReport, LeaseRef
from sdc_agents.agent.config import JOB_INPUT, JOB_INPUTS, AgentConfig, PipelineSpec
from sdc_agents.agent.outputs import JobContext, planned_outputs, register_outputs
from sdc_agents.agent.reporter import FinishReporter
from sdc_agents.agent.staging import Stager, StagingError
from sdc_agents.drm.protocol import BatchSystem
from sdc_agents.pipeline import PipelineError
from sdc_agents.pipeline.provenance import files_of
from sdc_agents.pipeline.records import RunState
from sdc_agents.pipeline.run import execute, prepare_run

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    """What the agent did with one job."""

    job_id: int
    pipeline: str
    succeeded: bool
    error_class: str | None = None
    message: str = ""
    copied_inputs: int = 0
    products: list[str] = field(default_factory=list)
    lost_lease: bool = False


class LeaseLost(RuntimeError):
    """The scheduler gave the job to someone else: stop and register nothing."""


class Heartbeat:
    """Keeps a lease alive from a background thread; notices when it was taken over."""

    def __init__(self, jobs: JobClient, job: JobPublic, owner: str, every: float) -> None:
        self._jobs, self._job, self._owner, self._every = jobs, job, owner, every
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            self.check()

    def check(self) -> None:
        """Heartbeat now; raises LeaseLost (and remembers it) when the epoch is stale."""
        self.raise_if_lost()
        try:
            self._jobs.heartbeat(self._job.id, self._owner, self._job.lease_epoch)
        except Conflict as exc:
            self.lost.set()
            raise LeaseLost(str(exc)) from exc
        except (ArchiveError, OSError) as exc:  # archive briefly away: the lease may still hold
            log.warning("heartbeat of job %s failed: %s", self._job.id, exc)

    def raise_if_lost(self) -> None:
        """Raise LeaseLost when a heartbeat already found the lease taken over."""
        if self.lost.is_set():
            raise LeaseLost(f"job {self._job.id}: lease was taken over")


class SiteAgent:
    """Runs the jobs of one site."""

    def __init__(
        self,
        site: str,
        owner: str,
        jobs: JobClient,
        local_dss: StorageClient,
        stager: Stager,
        batch: BatchSystem,
        config: AgentConfig,
    ) -> None:
        self.site, self.owner = site, owner
        self.jobs, self.local_dss, self.stager = jobs, local_dss, stager
        self.batch, self.config = batch, config
        self.reporter = FinishReporter(jobs.finish_many)
        self._stop = threading.Event()

    def run_once(self) -> JobResult | None:
        """Claim and run at most one job; None when the site has nothing to run."""
        claimed = self.claim(limit=1)
        return self.run_claimed(claimed[0]) if claimed else None

    def claim(self, limit: int = 1, job_ids: list[int] | None = None) -> list[JobPublic]:
        """Lease up to `limit` jobs of the site (or those of `job_ids` still queued here),
        started at once: the agent runs them as soon as it has them."""
        return self.jobs.claim_batch(self.site, self.owner, limit, job_ids, start=True)

    def run_claimed(self, job: JobPublic) -> JobResult:
        """Run a job this agent holds the lease of (however it was claimed), and report."""
        workdir = self.config.workroot.resolve() / f"job-{job.id}-epoch-{job.lease_epoch}"
        with Heartbeat(self.jobs, job, self.owner, self.config.heartbeat_seconds) as beat:
            try:
                if job.state != "RUNNING":  # claimed without start (an older claim call)
                    self.jobs.start(job.id, self.owner, job.lease_epoch)
                result = self._run(job, workdir, beat)
            except LeaseLost as exc:
                log.warning("%s", exc)
                return JobResult(
                    job.id, job.pipeline, False, "LEASE_EXPIRED", str(exc), lost_lease=True
                )
            except Conflict as exc:
                return JobResult(
                    job.id, job.pipeline, False, "LEASE_EXPIRED", str(exc), lost_lease=True
                )
        self._report(job, result)
        if result.succeeded:
            shutil.rmtree(workdir, ignore_errors=True)
        return result

    def _run(self, job: JobPublic, workdir: Path, beat: Heartbeat) -> JobResult:
        spec = self.config.pipelines.get(job.pipeline)
        if spec is None:
            known = ", ".join(sorted(self.config.pipelines)) or "none"
            message = f"this agent does not know pipeline {job.pipeline!r} (knows: {known})"
            return JobResult(job.id, job.pipeline, False, "BAD_INPUT", message)
        try:
            staged = self.stager.stage(job.input_product_ids, workdir / "inputs")
        except (StagingError, ArchiveError, OSError) as exc:
            return JobResult(job.id, job.pipeline, False, "STAGING", str(exc))
        try:
            inputs_file = _write_inputs(spec, staged.files, workdir)
            prepared = prepare_run(spec.script, inputs_file)
        except (PipelineError, ValueError) as exc:
            return JobResult(job.id, job.pipeline, False, "BAD_INPUT", str(exc), staged.copied)
        report = execute(prepared, workdir / "run", self.batch, self.config.max_parallel)
        if report.state is not RunState.SUCCEEDED:
            failed = next((r for r in report.nodes if r.error_class), None)
            error = failed.error_class if failed else "NONZERO_EXIT"
            message = f"{failed.node_id}: {failed.message}" if failed else "pipeline failed"
            return JobResult(job.id, job.pipeline, False, error, message, staged.copied)
        produced = {
            name: files_of(value) for name, value in report.outputs.items() if value is not None
        }
        context = JobContext(
            job_id=job.id,
            pipeline=job.pipeline,
            version=spec.version,
            site=self.site,
            parameters=job.parameters,
            input_ids=job.input_product_ids,
            obs_id=job.obs_id,
            tile_id=job.tile_id,
        )
        beat.raise_if_lost()  # known stale: upload nothing (the registration is fenced too)
        files = planned_outputs(context, produced, spec.outputs)
        lease = LeaseRef(owner=self.owner, epoch=job.lease_epoch)
        products = register_outputs(context, lease, files, self.local_dss, self.jobs)
        return JobResult(job.id, job.pipeline, True, copied_inputs=staged.copied, products=products)

    def _report(self, job: JobPublic, result: JobResult) -> None:
        outcome = JobReport(
            job_id=job.id,
            owner=self.owner,
            epoch=job.lease_epoch,
            succeeded=result.succeeded,
            error_class=result.error_class,  # type: ignore[arg-type]
            message=result.message[:2000],
        )
        try:
            self.reporter.finish(outcome)
        except Conflict as exc:
            result.lost_lease = True
            log.warning("job %s: finish refused: %s", job.id, exc)

    def stop(self) -> None:
        """Stop claiming; the job in hand is finished first."""
        self._stop.set()

    def run_forever(self) -> None:
        """Loop until SIGTERM/SIGINT, then exit after the current job."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop())
        while not self._stop.is_set():
            try:
                result = self.run_once()
            except (ArchiveError, OSError) as exc:
                log.warning("cycle failed, retrying: %s", exc)
                result = None
            if result is None:
                self._stop.wait(self.config.poll_seconds)
            else:
                log.info("job %s (%s): %s", result.job_id, result.pipeline, result)


def _write_inputs(spec: PipelineSpec, staged: list[Path], workdir: Path) -> Path:
    values: dict[str, str | list[str]] = {}
    for name, value in spec.inputs.items():
        if value == JOB_INPUTS:
            values[name] = [str(p) for p in staged]
        elif value == JOB_INPUT:
            if len(staged) != 1:
                raise ValueError(f"input {name!r} wants one file, the job has {len(staged)}")
            values[name] = str(staged[0])
        elif isinstance(value, list):
            values[name] = [str(Path(v).resolve()) for v in value]
        else:
            values[name] = str(Path(value).resolve())
    path = workdir / "inputs.yaml"
    path.write_text(yaml.safe_dump(values))
    return path
