"""Running pipelines for real on the local batch system: results, failures, resume, manifest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from sdc_agents.drm import LocalBatchSystem
from sdc_agents.examples import EXAMPLE_PIPELINE, write_example_inputs
from sdc_agents.pipeline.records import NodeRecord, NodeState, RunReport, RunState
from sdc_agents.pipeline.run import execute, prepare_run
from tests.pipeline_scripts import write_inputs, write_script, write_steps

CHAIN = """\
from euclidwf.framework.workflow_dsl import (
    ComputingResources, Executable, Input, Output, parallel, pipeline)
first = Executable(command="bin/{first}.py", inputs=[Input("a")], outputs=[Output("out")],
                   resources=ComputingResources(walltime={walltime}))
second = Executable(command="bin/ok.py", inputs=[Input("a"), Input("b")],
                    outputs=[Output("out", lineage=["b"])])

@pipeline(outputs=("x",))
def chain(raw, other):
    return second(a=first(a=raw), b=other)
"""


def _run_chain(
    tmp_path: Path, first: str, walltime: float = 1.0, resume: bool = False
) -> RunReport:
    write_steps(tmp_path, "ok", "fail", "lazy", "sleepy")
    script = write_script(tmp_path, CHAIN.format(first=first, walltime=walltime))
    inputs = write_inputs(tmp_path, raw="raw data", other="other data")
    prepared = prepare_run(script, inputs)
    return execute(prepared, tmp_path / "work", LocalBatchSystem(os.environ), 2, resume)


def _by_id(report: RunReport) -> dict[str, NodeRecord]:
    return {n.node_id: n for n in report.nodes}


def test_the_example_pipeline_corrects_and_combines_real_fits(tmp_path: Path) -> None:
    inputs = write_example_inputs(tmp_path / "in", frames=3, shape=(16, 16))
    report = execute(
        prepare_run(EXAMPLE_PIPELINE, inputs), tmp_path / "w", LocalBatchSystem(os.environ), 2
    )
    assert report.state is RunState.SUCCEEDED, [(n.node_id, n.message) for n in report.nodes]
    assert len(report.nodes) == 1 + 3 * 2 + 1
    combined = fits.getdata(str(report.outputs["combined"]))
    # raw = sky * flat + dark with sky ~ 100: dark and flat removed leaves ~100 up to flat's norm
    flat = fits.getdata(tmp_path / "in" / "master_flat.fits")
    assert np.allclose(combined * np.median(flat), 100, atol=20)
    assert fits.getheader(str(report.outputs["combined"]))["NCOMBINE"] == 3
    assert len(report.outputs["quality"]) == 3
    manifest = json.loads(report.manifest.read_text())
    assert manifest["state"] == "SUCCEEDED"
    by_path = {Path(o["path"]).name: o for o in manifest["outputs"]}
    quality = next(o for o in manifest["outputs"] if o["port"] == "quality")
    assert len(quality["lineage"]) == 1 and "frame_" in quality["lineage"][0]
    assert by_path["combined.fits"]["node"] == "combine_images"
    assert len(by_path["combined.fits"]["adler32"]) == 8
    assert (
        by_path["combined.fits"]["size"]
        == (tmp_path / "w/nodes/combine_images/out/combined.fits").stat().st_size
    )
    node = manifest["nodes"][0]
    assert node["requested"]["ram"] == 0.5 and node["used"]["wall_s"] > 0


def test_a_nonzero_exit_fails_the_node_and_skips_downstream(tmp_path: Path) -> None:
    report = _run_chain(tmp_path, "fail")
    assert report.state is RunState.FAILED
    nodes = _by_id(report)
    assert nodes["fail"].state is NodeState.FAILED
    assert nodes["fail"].error_class == "NONZERO_EXIT"
    assert "something broke in fail" in nodes["fail"].log_tail
    assert nodes["ok"].state is NodeState.SKIPPED and nodes["ok"].job_id is None


def test_a_missing_declared_output_fails_the_node(tmp_path: Path) -> None:
    report = _run_chain(tmp_path, "lazy")
    nodes = _by_id(report)
    assert nodes["lazy"].error_class == "MISSING_OUTPUT"
    assert "out" in nodes["lazy"].message
    assert nodes["ok"].state is NodeState.SKIPPED


def test_a_job_over_its_walltime_is_killed_as_timeout(tmp_path: Path) -> None:
    report = _run_chain(tmp_path, "sleepy", walltime=0.5 / 3600)
    nodes = _by_id(report)
    assert nodes["sleepy"].error_class == "TIMEOUT"
    assert nodes["sleepy"].used["wall_s"] < 10
    assert report.state is RunState.FAILED


def test_resume_reruns_only_what_failed_or_did_not_run(tmp_path: Path) -> None:
    write_steps(tmp_path, "ok")
    script = write_script(
        tmp_path,
        """\
from euclidwf.framework.workflow_dsl import Executable, Input, Output, pipeline
a = Executable(command="bin/ok.py", inputs=[Input("a")], outputs=[Output("out")], name="a")
b = Executable(command="bin/flaky.py", inputs=[Input("a")], outputs=[Output("out")])
c = Executable(command="bin/ok.py", inputs=[Input("a")], outputs=[Output("out")], name="c")

@pipeline(outputs=("x", "y"))
def p(raw):
    return c(a=b(a=a(a=raw))), a(a=raw)
""",
    )
    (tmp_path / "bin" / "flaky.py").write_text("import sys; sys.exit(1)\n")
    inputs = write_inputs(tmp_path, raw="raw")
    first = execute(prepare_run(script, inputs), tmp_path / "w", LocalBatchSystem(os.environ), 2)
    assert {n.node_id: n.state for n in first.nodes} == {
        "a": NodeState.SUCCEEDED,
        "a_2": NodeState.SUCCEEDED,
        "flaky": NodeState.FAILED,
        "c": NodeState.SKIPPED,
    }
    (tmp_path / "bin" / "flaky.py").write_text((tmp_path / "bin" / "ok.py").read_text())
    second = execute(
        prepare_run(script, inputs), tmp_path / "w", LocalBatchSystem(os.environ), 2, resume=True
    )
    assert second.state is RunState.SUCCEEDED
    assert {n.node_id: n.state for n in second.nodes} == {
        "a": NodeState.REUSED,
        "a_2": NodeState.REUSED,
        "flaky": NodeState.SUCCEEDED,
        "c": NodeState.SUCCEEDED,
    }
    (tmp_path / "raw.txt").write_text("changed raw data")
    third = execute(
        prepare_run(script, inputs), tmp_path / "w", LocalBatchSystem(os.environ), 2, resume=True
    )
    # a's output does not depend on the raw content, so what reads it is still reusable
    assert {n.node_id: n.state for n in third.nodes} == {
        "a": NodeState.SUCCEEDED,
        "a_2": NodeState.SUCCEEDED,
        "flaky": NodeState.REUSED,
        "c": NodeState.REUSED,
    }


def test_a_fan_out_over_an_empty_directory_gathers_an_empty_list(tmp_path: Path) -> None:
    write_steps(tmp_path, "ok")
    (tmp_path / "bin" / "mkdir_out.py").write_text(
        "import sys, pathlib\n"
        "args = dict(a[2:].split('=', 1) for a in sys.argv[1:])\n"
        "pathlib.Path(args['items']).mkdir()\n"
    )
    script = write_script(
        tmp_path,
        """\
from euclidwf.framework.workflow_dsl import Executable, Input, Output, parallel, pipeline
listing = Executable(command="bin/mkdir_out.py", inputs=[Input("a")],
                     outputs=[Output("items", mime_type="dir")])
each = Executable(command="bin/ok.py", inputs=[Input("a")], outputs=[Output("out")])
gather = Executable(command="bin/ok.py", inputs=[Input("a")], outputs=[Output("out")],
                    name="gather")

@parallel(iterable="item")
def per_item(item):
    return each(a=item)

@pipeline(outputs=("x",))
def p(raw):
    return gather(a=per_item(item=listing(a=raw)))
""",
    )
    inputs = write_inputs(tmp_path, raw="raw")
    report = execute(prepare_run(script, inputs), tmp_path / "w", LocalBatchSystem(os.environ), 2)
    assert report.state is RunState.SUCCEEDED
    assert sorted(n.node_id for n in report.nodes) == ["gather", "mkdir_out"]
    listed = tmp_path / "w" / "nodes" / "gather" / "inputs" / "a.json"
    assert json.loads(listed.read_text()) == []


def test_resources_can_come_from_a_file_the_previous_step_wrote(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "plan.py").write_text(
        "import sys, json, pathlib\n"
        "args = dict(a[2:].split('=', 1) for a in sys.argv[1:])\n"
        "pathlib.Path(args['plan']).write_text(json.dumps({'cores': 1, 'ram': 0.25}))\n"
    )
    write_steps(tmp_path, "ok")
    script = write_script(
        tmp_path,
        """\
from euclidwf.framework.workflow_dsl import ComputingResources, Executable, Input, Output, pipeline
plan = Executable(command="bin/plan.py", inputs=[Input("a")], outputs=[Output("plan")])
work = Executable(command="bin/ok.py", inputs=[Input("a"), Input("plan")],
                  outputs=[Output("out")],
                  resources=ComputingResources(cores=1, ram=8.0, from_input="plan"))

@pipeline(outputs=("x",))
def p(raw):
    return work(a=raw, plan=plan(a=raw))
""",
    )
    inputs = write_inputs(tmp_path, raw="raw")
    report = execute(prepare_run(script, inputs), tmp_path / "w", LocalBatchSystem(os.environ), 2)
    assert report.state is RunState.SUCCEEDED
    assert _by_id(report)["ok"].requested["ram"] == 0.25


def test_an_interrupted_run_leaves_a_manifest_to_resume_from(tmp_path: Path) -> None:
    write_steps(tmp_path, "ok", "sleepy")
    script = write_script(tmp_path, CHAIN.format(first="sleepy", walltime=1.0))
    inputs = write_inputs(tmp_path, raw="raw", other="other")
    prepared = prepare_run(script, inputs)

    def interrupt(record: NodeRecord) -> None:
        if record.state is NodeState.RUNNING:
            raise KeyboardInterrupt

    batch = LocalBatchSystem(os.environ)
    with pytest.raises(KeyboardInterrupt):
        execute(prepared, tmp_path / "w", batch, 2, on_change=interrupt)
    batch.close()  # returns at once: the running job was killed, not waited for
    manifest = json.loads((tmp_path / "w" / "manifest.json").read_text())
    assert manifest["state"] == "FAILED"
    assert {n["node_id"]: n["state"] for n in manifest["nodes"]} == {
        "sleepy": "RUNNING",
        "ok": "WAITING",
    }
