"""The Slurm backend's pure functions: the sbatch script and the parsing of squeue/sacct."""

from __future__ import annotations

from pathlib import Path

from sdc_agents.drm.protocol import ErrorClass, JobPhase, JobSpec
from sdc_agents.drm.slurm import (
    SACCT_FIELDS,
    outcome_of,
    parse_duration_s,
    parse_sacct,
    parse_size_mb,
    phase_of,
    sbatch_script,
)
from sdc_agents.pipeline import ComputingResources

JOB = JobSpec(
    "correct[3]/correct_dark",
    ["/usr/bin/python3", "/x/cd.py", "--image=/d/a b.fits"],
    Path("/w/work"),
    Path("/w/logs"),
    Path("/w/tmp"),
    ComputingResources(cores=2, ram=2.0, walltime=4.0, vms=20.0),
)


def test_the_script_asks_for_the_declared_resources() -> None:
    script = sbatch_script(JOB, partition="debug")
    assert script.startswith("#!/bin/bash\n")
    for line in (
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --mem=2048M",
        "#SBATCH --time=4:00:00",
        "#SBATCH --chdir=/w/work",
        "#SBATCH --output=/w/logs/job.log",
        "#SBATCH --partition=debug",
        "export TMPDIR=/w/tmp",
    ):
        assert line in script.splitlines()
    assert script.rstrip().endswith("exec /usr/bin/python3 /x/cd.py '--image=/d/a b.fits'")


def test_a_short_walltime_rounds_up_to_a_whole_minute() -> None:
    job = JobSpec(
        "j",
        ["true"],
        Path("/w"),
        Path("/l"),
        Path("/t"),
        ComputingResources(walltime=0.001, gpus=1, tmpdir=1.5),
    )
    script = sbatch_script(job)
    assert "#SBATCH --time=0:01:00" in script
    assert "#SBATCH --gres=gpu:1" in script and "#SBATCH --tmp=1536M" in script


def test_states_map_to_phases() -> None:
    assert phase_of("PENDING") is JobPhase.PENDING
    assert phase_of("COMPLETING") is JobPhase.RUNNING
    assert phase_of("CANCELLED by 0") is JobPhase.FINISHED
    assert phase_of("TIMEOUT") is JobPhase.FINISHED


def test_sizes_and_durations() -> None:
    assert parse_size_mb("2048K") == 2.0
    assert parse_size_mb("1.5G") == 1536.0
    assert parse_size_mb("") == 0.0
    assert parse_duration_s("1-02:03:04") == 93784
    assert parse_duration_s("01:30.500") == 90.5


SACCT = """\
42|TIMEOUT|0:0|00:01:12|00:00.321|||||
42.batch|CANCELLED|0:15|00:01:12|00:00.321|81344K|227000K|1.5M|0.25M
"""


def test_sacct_gives_state_exit_code_and_peaks() -> None:
    assert "MaxRSS" in SACCT_FIELDS
    state, code, signal_no, usage = parse_sacct(SACCT, "42")
    assert (state, code, signal_no) == ("TIMEOUT", 0, 0)
    assert usage.wall_s == 72 and usage.cpu_s == 0.321
    assert usage.max_rss_mb == 79.44 and usage.write_bytes == 262144
    outcome = outcome_of(state, code, signal_no, usage, JOB)
    assert outcome.error_class is ErrorClass.TIMEOUT


def test_a_failed_job_is_a_nonzero_exit_and_memory_over_use_is_flagged() -> None:
    sacct = (
        "7|FAILED|3:0|00:00:02|00:01.000|||||\n7.batch|FAILED|3:0|00:00:02|00:01.000|3G|4G|0|0\n"
    )
    outcome = outcome_of(*parse_sacct(sacct, "7"), JOB)
    assert outcome.error_class is ErrorClass.NONZERO_EXIT and outcome.exit_code == 3
    assert any(flag.startswith("memory:") for flag in outcome.flags)
