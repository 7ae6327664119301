"""Every bad input is refused before anything runs, naming the file, line and port."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdc_agents.pipeline import (
    Executable,
    Input,
    Output,
    PipelineDefinitionError,
    PipelineInputError,
    load_pipeline,
)
from sdc_agents.pipeline.errors import CallSite
from sdc_agents.pipeline.graph import Invocation, PipelineGraph, check_acyclic
from sdc_agents.pipeline.run import prepare_run
from tests.pipeline_scripts import write_inputs, write_script, write_steps

HEADER = """\
from euclidwf.framework.workflow_dsl import Executable, Input, Output, parallel, pipeline
step = Executable(command="bin/ok.py", inputs=[Input("a")], outputs=[Output("out")])
"""


def _refused(tmp_path: Path, body: str) -> tuple[Path, PipelineDefinitionError]:
    """Write HEADER + body as a script; return it and the error tracing it raises."""
    script = write_script(tmp_path, HEADER + body)
    with pytest.raises(PipelineDefinitionError) as caught:
        load_pipeline(script)
    return script, caught.value


def test_a_script_without_pipeline_is_refused(tmp_path: Path) -> None:
    script, error = _refused(tmp_path, "")
    assert f"{script}:1" in str(error)
    assert "no @pipeline" in str(error)


def test_an_unknown_port_names_file_line_and_port(tmp_path: Path) -> None:
    script, error = _refused(
        tmp_path,
        """\
@pipeline(outputs=("x",))
def p(raw):
    return step(b=raw)
""",
    )
    assert str(error).startswith(f"{script}:5: ")
    assert "no input port 'b'" in str(error)
    assert error.port == "b"


def test_an_iterable_naming_no_parameter_is_refused(tmp_path: Path) -> None:
    script, error = _refused(
        tmp_path,
        """\
@parallel(iterable="items")
def each(item):
    return step(a=item)
""",
    )
    assert f"{script}:3" in str(error)  # the decorator line
    assert "iterable='items'" in str(error)
    assert error.port == "items"


def test_a_cycle_is_named_with_its_path() -> None:
    exe = Executable(command="true", inputs=[Input("a")], outputs=[Output("out")])
    site = CallSite("pipe.py", 7)
    graph = PipelineGraph(
        "p",
        Path("pipe.py"),
        [],
        {},
        [
            Invocation("first", exe, {"a": "second:out"}, {"out": "first:out"}, site),
            Invocation("second", exe, {"a": "first:out"}, {"out": "second:out"}, site),
        ],
    )
    with pytest.raises(PipelineDefinitionError) as caught:
        check_acyclic(graph)
    assert "cycle: first -> second -> first" in str(caught.value)
    assert "pipe.py:7" in str(caught.value)


def test_a_lineage_naming_no_input_is_refused() -> None:
    with pytest.raises(PipelineDefinitionError) as caught:
        Executable(command="true", inputs=[Input("a")], outputs=[Output("o", lineage=["z"])])
    assert "lineage of output 'o' names 'z'" in str(caught.value)
    assert __file__ in str(caught.value)


def _valid_script(tmp_path: Path) -> Path:
    write_steps(tmp_path, "ok")
    return write_script(
        tmp_path,
        HEADER
        + """\
@pipeline(outputs=("x",))
def p(raw):
    return step(a=raw)
""",
    )


def test_a_missing_input_file_names_the_inputs_file_line_and_input(tmp_path: Path) -> None:
    script = _valid_script(tmp_path)
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text("# the raw data\nraw: nowhere.fits\n")
    with pytest.raises(PipelineInputError) as caught:
        prepare_run(script, inputs)
    assert str(caught.value).startswith(f"{inputs}:2: input 'raw': file not found")
    assert caught.value.port == "raw"


def test_an_input_the_pipeline_lacks_is_refused(tmp_path: Path) -> None:
    script = _valid_script(tmp_path)
    inputs = write_inputs(tmp_path, raw="r", extra="e")
    with pytest.raises(PipelineInputError, match="'extra' is not an input"):
        prepare_run(script, inputs)


def test_an_executable_not_found_names_the_call_site(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """\
from euclidwf.framework.workflow_dsl import Executable, Input, Output, pipeline
ghost = Executable(command="no-such-command-xyz", inputs=[Input("a")], outputs=[Output("o")])

@pipeline(outputs=("x",))
def p(raw):
    return ghost(a=raw)
""",
    )
    inputs = write_inputs(tmp_path, raw="r")
    with pytest.raises(PipelineDefinitionError) as caught:
        prepare_run(script, inputs)
    assert str(caught.value).startswith(f"{script}:6: executable not found for")
    assert "no-such-command-xyz" in str(caught.value)


def test_a_value_that_is_not_a_reference_is_refused(tmp_path: Path) -> None:
    script, error = _refused(
        tmp_path,
        """\
@pipeline(outputs=("x",))
def p(raw):
    return step(a="/data/file.fits")
""",
    )
    assert f"{script}:5" in str(error) and error.port == "a"


def test_an_executable_called_outside_a_pipeline_is_refused() -> None:
    exe = Executable(command="true", inputs=[Input("a")], outputs=[Output("o")])
    with pytest.raises(PipelineDefinitionError, match="outside a @pipeline"):
        exe(a=1)
