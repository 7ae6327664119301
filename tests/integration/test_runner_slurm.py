"""The example pipeline on the real single-node Slurm, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from astropy.io import fits

from sdc_agents.examples import EXAMPLE_PIPELINE, write_example_inputs
from tests.pipeline_scripts import run_pipeline
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
