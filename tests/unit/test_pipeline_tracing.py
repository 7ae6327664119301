"""Tracing a Pipeline Script into a graph, and expanding fan-outs at run time."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from sdc_agents.examples import EXAMPLE_PIPELINE
from sdc_agents.pipeline import load_pipeline
from sdc_agents.pipeline.fanout import expand, items_of
from sdc_agents.pipeline.render import graph_dot


def test_the_example_traces_into_static_steps_and_a_fan_out_template() -> None:
    graph = load_pipeline(EXAMPLE_PIPELINE)
    assert graph.inputs == ["raw_frames", "master_dark", "master_flat"]
    assert [i.node_id for i in graph.invocations] == ["split_frames", "combine_images"]
    (fanout,) = graph.fanouts
    assert fanout.iterable_ref == "split_frames:images"
    assert [t.node_id for t in fanout.template] == ["correct/correct_dark", "correct/correct_flat"]
    flat = fanout.template[1]
    assert flat.inputs == {
        "image": "correct/correct_dark:corrected",
        "master_flat": "in:master_flat",
    }
    assert graph.invocations[1].inputs == {"images": "correct:result0"}
    assert graph.outputs == {"combined": "combine_images:combined", "quality": "correct:result1"}


def test_the_dot_graph_links_steps_through_their_ports() -> None:
    dot = graph_dot(load_pipeline(EXAMPLE_PIPELINE))
    assert '"split_frames" -> "correct/correct_dark" [label="image"];' in dot
    assert '"correct/correct_flat" -> "combine_images" [label="images"];' in dot
    assert 'subgraph "cluster_correct"' in dot


@given(st.integers(min_value=0, max_value=40))
def test_expansion_makes_one_instance_per_item(count: int) -> None:
    fanout = load_pipeline(EXAMPLE_PIPELINE).fanouts[0]
    items = [f"/data/frame_{n}.fits" for n in range(count)]
    expansion = expand(fanout, items)
    assert len(expansion.invocations) == 2 * count
    assert list(expansion.item_values.values()) == items
    if count:
        last = expansion.invocations[-1]
        assert last.node_id == f"correct[{count - 1}]/correct_flat"
        assert last.inputs["image"] == f"correct[{count - 1}]/correct_dark:corrected"
        assert last.inputs["master_flat"] == "in:master_flat"
    assert expansion.gathered["correct:result0"] == [
        f"correct[{n}]/correct_flat:corrected" for n in range(count)
    ]


def test_items_come_from_a_directory_or_a_list_file(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    for name in ("b.fits", "a.fits", ".hidden"):
        (tmp_path / "d" / name).write_text("x")
    assert items_of(str(tmp_path / "d")) == [str(tmp_path / "d" / n) for n in ("a.fits", "b.fits")]
    listfile = tmp_path / "l.json"
    listfile.write_text(json.dumps(["x.fits", "/abs/y.fits"]))
    assert items_of(str(listfile)) == [str(tmp_path / "x.fits"), "/abs/y.fits"]
    assert items_of(["p", "q"]) == ["p", "q"]
