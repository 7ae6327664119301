"""The example pipeline on the real single-node Slurm, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from astropy.io import fits

from sdc_agents.drm import SlurmBatchSystem
from sdc_agents.examples import EXAMPLE_PIPELINE, write_example_inputs
from sdc_agents.pipeline.records import NodeState, RunState
from sdc_agents.pipeline.run import execute, prepare_run
from tests.pipeline_scripts import run_pipeline, write_inputs, write_script
from tests.slurm_cluster import slurm_cluster  # noqa: F401  (session fixture)


def test_the_example_pipeline_runs_on_slurm(slurm_cluster: None, tmp_path: Path) -> None:  # noqa: F811
    inputs = write_example_inputs(tmp_path / "in", frames=2, shape=(8, 8))
    result = run_pipeline(EXAMPLE_PIPELINE, inputs, tmp_path / "w", "--drm", "slurm", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["state"] == "SUCCEEDED" and summary["counts"] == {"SUCCEEDED": 6}
    assert fits.getheader(summary["outputs"]["combined"])["NCOMBINE"] == 2
    manifest = json.loads(Path(summary["manifest"]).read_text())
    assert manifest["drm"] == "slurm"
    assert all(node["job_id"].isdigit() for node in manifest["nodes"])
    script = tmp_path / "w" / "nodes" / "split_frames" / "job.sbatch"
    assert "#SBATCH --mem=512M" in script.read_text()


HANG = """\
#!/bin/sh
exec sleep 600
"""

OVER_TIME = """\
from euclidwf.framework.workflow_dsl import ComputingResources, Executable, Input, Output, pipeline
hang = Executable(command="bin/hang.sh", inputs=[Input("a")], outputs=[Output("out")],
                  resources=ComputingResources(walltime=1 / 60, ram=0.05))
after = Executable(command="bin/hang.sh", inputs=[Input("a")], outputs=[Output("out")])

@pipeline(outputs=("x",))
def over_time(raw):
    return after(a=hang(a=raw))
"""


@pytest.mark.slow
def test_a_job_over_its_walltime_ends_as_timeout_on_slurm(
    slurm_cluster: None,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Slurm's smallest time limit is one minute and slurmctld enforces limits on a 30 s timer
    # (compiled in), so this takes 60-90 s: the least Slurm allows for a real TIMEOUT
    (tmp_path / "bin").mkdir()
    hang = tmp_path / "bin" / "hang.sh"
    hang.write_text(HANG)
    hang.chmod(0o755)
    script = write_script(tmp_path, OVER_TIME)
    inputs = write_inputs(tmp_path, raw="raw data")
    report = execute(prepare_run(script, inputs), tmp_path / "w", SlurmBatchSystem(), 1, poll_s=1.0)
    assert report.state is RunState.FAILED
    nodes = {n.node_id: n for n in report.nodes}
    hung = nodes["hang"]
    assert hung.error_class == "TIMEOUT", (hung.message, hung.log_tail)
    assert hung.message.startswith("slurm state TIMEOUT")
    assert hung.used is not None and hung.used["wall_s"] >= 60
    assert nodes["hang_2"].state is NodeState.SKIPPED and nodes["hang_2"].job_id is None
    sbatch = (tmp_path / "w" / "nodes" / "hang" / "job.sbatch").read_text()
    assert "#SBATCH --time=0:01:00" in sbatch
