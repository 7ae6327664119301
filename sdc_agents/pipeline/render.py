"""Draw the static graph of a Pipeline Script: Graphviz DOT text, or a PNG with matplotlib."""

from __future__ import annotations

from pathlib import Path

from sdc_agents.pipeline.graph import PipelineGraph, check_acyclic


def graph_dot(graph: PipelineGraph) -> str:
    """The graph in DOT: inputs as ellipses, steps as boxes, each @parallel as a cluster."""
    lines = [f'digraph "{graph.name}" {{', "  rankdir=LR;", "  node [shape=box];"]
    for name in graph.inputs:
        lines.append(f'  "in:{name}" [shape=ellipse, label="{name}"];')
    for name in graph.outputs:
        lines.append(f'  "out:{name}" [shape=ellipse, label="{name}"];')
    for invocation in graph.invocations:
        lines.append(f'  "{invocation.node_id}";')
    for fanout in graph.fanouts:
        lines.append(f'  subgraph "cluster_{fanout.block_id}" {{')
        lines.append(f'    label="@parallel {fanout.block_id} (one per item)"; style=dashed;')
        for template in fanout.template:
            lines.append(f'    "{template.node_id}";')
        lines.append("  }")
    lines += [f'  "{a}" -> "{b}" [label="{port}"];' for a, b, port in edges(graph)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def edges(graph: PipelineGraph) -> list[tuple[str, str, str]]:
    """(from, to, port) for every edge; a fan-out's items and results link its template."""
    producer: dict[str, str] = {f"in:{n}": f"in:{n}" for n in graph.inputs}
    for invocation in graph.all_invocations():
        for ref in invocation.outputs.values():
            producer[ref] = invocation.node_id
    for fanout in graph.fanouts:
        producer[fanout.item_ref] = producer.get(fanout.iterable_ref, fanout.iterable_ref)
        for template_ref, gathered in fanout.results:
            producer[gathered] = producer[template_ref]
    found = [
        (producer[ref], invocation.node_id, port)
        for invocation in graph.all_invocations()
        for port, ref in invocation.inputs.items()
        if ref in producer
    ]
    found += [
        (producer[ref], f"out:{name}", name)
        for name, ref in graph.outputs.items()
        if ref in producer
    ]
    return found


def write_png(graph: PipelineGraph, path: Path) -> None:
    """A left-to-right layered drawing of the graph (no Graphviz needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    check_acyclic(graph)
    links = edges(graph)
    layer: dict[str, int] = {f"in:{n}": 0 for n in graph.inputs}
    layer |= {inv.node_id: 1 for inv in graph.all_invocations()}
    for _ in range(len(links) + 1):  # longest path by relaxation; the graph is small
        for a, b, _port in links:
            layer[b] = max(layer.get(b, 0), layer.get(a, 0) + 1)
    columns: dict[int, list[str]] = {}
    for node, column in sorted(layer.items(), key=lambda kv: kv[0]):
        columns.setdefault(column, []).append(node)
    where = {
        node: (x * 3.0, -y * 1.2) for x, nodes in columns.items() for y, node in enumerate(nodes)
    }
    tallest = max(map(len, columns.values()))
    figure, axes = pyplot.subplots(figsize=(3 + 2.5 * len(columns), 2 + tallest))
    for a, b, _port in links:
        axes.annotate(
            "", xy=where[b], xytext=where[a], arrowprops={"arrowstyle": "->", "color": "grey"}
        )
    for node, (x, y) in where.items():
        label = node.removeprefix("in:").removeprefix("out:")
        style = "round" if node.startswith(("in:", "out:")) else "square"
        axes.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": style, "facecolor": "white"},
        )
    axes.set_axis_off()
    axes.set_title(f"pipeline {graph.name}")
    figure.savefig(path, dpi=100, bbox_inches="tight")
    pyplot.close(figure)
