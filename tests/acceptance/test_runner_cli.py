"""`sdc agent pipeline ...` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from sdc_agents.examples import EXAMPLE_PIPELINE
from tests.acceptance.cli import run_sdc
from tests.pipeline_scripts import run_pipeline, write_inputs, write_script, write_steps


def test_example_inputs_then_run_then_resume(tmp_path: Path) -> None:
    made = run_sdc("agent", "pipeline", "example", str(tmp_path / "in"), "--frames", "2")
    assert made.returncode == 0, made.stderr
    args = [
        "agent",
        "pipeline",
        "run",
        str(EXAMPLE_PIPELINE),
        "--inputs",
        str(tmp_path / "in" / "inputs.yaml"),
        "--workdir",
        str(tmp_path / "w"),
    ]
    first = run_sdc(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "run SUCCEEDED" in first.stdout and "combine_images" in first.stdout
    again = run_sdc(*args, "--resume", "--json")
    assert json.loads(again.stdout)["counts"] == {"REUSED": 6}


def test_a_failed_run_exits_1_with_a_per_node_table(tmp_path: Path) -> None:
    write_steps(tmp_path, "fail", "ok")
    script = write_script(
        tmp_path,
        """\
from euclidwf.framework.workflow_dsl import Executable, Input, Output, pipeline
bad = Executable(command="bin/fail.py", inputs=[Input("a")], outputs=[Output("o")])
after = Executable(command="bin/ok.py", inputs=[Input("a")], outputs=[Output("o")])

@pipeline(outputs=("x",))
def p(raw):
    return after(a=bad(a=raw))
""",
    )
    inputs = write_inputs(tmp_path, raw="r")
    result = run_pipeline(script, inputs, tmp_path / "w")
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "NONZERO_EXIT" in result.stdout
    assert "SKIPPED" in result.stdout and "something broke" in result.stdout


def test_bad_input_is_refused_before_anything_runs(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text("raw_frames: a.fits\nmaster_dark: b.fits\nmaster_flat: c.fits\n")
    result = run_pipeline(EXAMPLE_PIPELINE, inputs, tmp_path / "w")
    assert result.returncode == 1
    assert f"{inputs}:1" in result.stderr and "raw_frames" in result.stderr
    assert not (tmp_path / "w").exists()


def test_graph_writes_dot_and_png(tmp_path: Path) -> None:
    dot, png = tmp_path / "g.dot", tmp_path / "g.png"
    result = run_sdc("agent", "pipeline", "graph", str(EXAMPLE_PIPELINE), "--out", str(dot))
    assert result.returncode == 0 and "correct/correct_dark" in result.stdout
    assert dot.read_text().startswith('digraph "vis_pipeline"')
    assert (
        run_sdc("agent", "pipeline", "graph", str(EXAMPLE_PIPELINE), "--out", str(png)).returncode
        == 0
    )
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_an_unknown_batch_system_is_a_usage_error(tmp_path: Path) -> None:
    result = run_pipeline(
        EXAMPLE_PIPELINE, tmp_path / "inputs.yaml", tmp_path / "w", "--drm", "pbs"
    )
    assert result.returncode == 2
    assert "--drm 'pbs': unknown batch system" in result.stderr


def test_unwritable_places_are_named_without_a_traceback(tmp_path: Path) -> None:
    """`pipeline example` and `pipeline graph --out` under a file ended in tracebacks, and
    `graph --out g.txt` printed the whole table before refusing the name."""
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    example = run_sdc("agent", "pipeline", "example", str(a_file / "in"))
    assert example.returncode == 1 and "cannot write the example inputs" in example.stderr
    graph = run_sdc(
        "agent", "pipeline", "graph", str(EXAMPLE_PIPELINE), "--out", str(a_file / "g.png")
    )
    assert graph.returncode == 1 and "cannot write" in graph.stderr
    wrong_name = run_sdc("agent", "pipeline", "graph", str(EXAMPLE_PIPELINE), "--out", "g.txt")
    assert wrong_name.returncode == 2 and ".dot or .png" in wrong_name.stderr
    assert wrong_name.stdout == ""
    for result in (example, graph, wrong_name):
        assert "Traceback" not in result.stderr
