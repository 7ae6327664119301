"""Pipeline Runner benchmarks (run: `python benchmarks/runner.py [--nodes N] [--graph-nodes M]`).

1. Overhead: an N-node no-op @parallel fan-out on the local batch system against launching
   the same N processes directly with a concurrent.futures pool of the same width, in the
   same run; prints the throughput ratio (runner / direct; the target is >= 0.5).
2. Graph build: tracing a fan-out script and expanding it to M nodes; time and peak memory
   (targets: < 1 s and < 500 MB for M = 100,000).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from sdc.settings import process_environment
from sdc_agents.drm import LocalBatchSystem
from sdc_agents.pipeline import load_pipeline
from sdc_agents.pipeline.executor import Executor
from sdc_agents.pipeline.run import execute, prepare_run

NOOP = """#!/bin/sh
for a in "$@"; do case "$a" in --out=*) : > "${a#--out=}";; esac; done
"""

SCRIPT = """\
from euclidwf.framework.workflow_dsl import Executable, Input, Output, parallel, pipeline
noop = Executable(command="{noop}", inputs=[Input("a")], outputs=[Output("out")])

@parallel(iterable="item")
def each(item):
    return noop(a=item)

@pipeline(outputs=("done",))
def fan_out(items):
    return each(item=items)
"""


def setup(base: Path, nodes: int) -> tuple[Path, Path, Path, list[Path]]:
    """The no-op command, the fan-out script, its inputs.yaml and the item files."""
    noop = base / "noop.sh"
    noop.write_text(NOOP)
    noop.chmod(0o755)
    script = base / "fan_out.py"
    script.write_text(SCRIPT.format(noop=noop))
    items = [base / "items" / f"item_{n:05d}" for n in range(nodes)]
    items[0].parent.mkdir()
    for item in items:
        item.write_text("x")
    inputs = base / "inputs.yaml"
    inputs.write_text(yaml.safe_dump({"items": [str(i) for i in items]}))
    return noop, script, inputs, items


def direct(noop: Path, items: list[Path], out: Path, width: int) -> float:
    """Seconds to run the no-op once per item with a thread pool of `width`."""
    out.mkdir()

    def launch(n: int) -> None:
        subprocess.run(
            [
                str(noop),
                f"--a={items[n]}",
                f"--out={out / str(n)}",
                f"--workdir={out}",
                f"--logdir={out}",
            ],
            check=True,
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=width) as pool:
        list(pool.map(launch, range(len(items))))
    return time.perf_counter() - started


def through_runner(script: Path, inputs: Path, workdir: Path, width: int) -> float:
    """Seconds for the runner to run the fan-out pipeline on the local batch system."""
    started = time.perf_counter()
    report = execute(
        prepare_run(script, inputs), workdir, LocalBatchSystem(process_environment()), width
    )
    elapsed = time.perf_counter() - started
    assert report.state == "SUCCEEDED", report.counts()
    return elapsed


def graph_build(script: Path, nodes: int) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak MB) to trace the script and register its fan-out's `nodes` nodes.

    What a run pays before its first job: tracing, expanding the @parallel over the items and
    entering every node in the executor's bookkeeping (nothing is submitted).
    """

    def build() -> Executor:
        graph = load_pipeline(script)
        executor = Executor(
            graph, {"items": items}, Path("unused"), LocalBatchSystem(process_environment()), {}, 1
        )
        executor.register()
        assert len(executor.nodes) == nodes
        return executor

    items = [f"/data/item_{n:06d}.fits" for n in range(nodes)]
    started, cpu = time.perf_counter(), time.process_time()
    build()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    tracemalloc.start()
    build()
    peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    tracemalloc.stop()
    return seconds, cpu, peak


def main() -> None:
    """Run both benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="direct/runner pairs, alternated")
    parser.add_argument("--graph-nodes", type=int, default=100_000)
    args = parser.parse_args()
    width = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        noop, script, inputs, items = setup(base, args.nodes)
        print(f"fan-out of {args.nodes} no-op nodes, width {width}, {args.rounds} rounds:")
        ratios = []
        for n in range(args.rounds):
            # alternate so that load from elsewhere on the machine hits both alike
            baseline = direct(noop, items, base / f"direct{n}", width)
            runner = through_runner(script, inputs, base / f"run{n}", width)
            ratios.append(baseline / runner)
            print(
                f"  round {n + 1}: direct pool {baseline:.2f} s ({args.nodes / baseline:.0f} "
                f"jobs/s), runner {runner:.2f} s ({args.nodes / runner:.0f} jobs/s), "
                f"ratio {baseline / runner:.2f}"
            )
        print(
            f"  throughput ratio runner/direct, median: {statistics.median(ratios):.2f} "
            "(target >= 0.5)"
        )
        seconds, cpu, peak = graph_build(script, args.graph_nodes)
        print(
            f"graph build, {args.graph_nodes} nodes: {seconds:.2f} s ({cpu:.2f} s CPU), "
            f"peak {peak:.0f} MB (targets < 1 s, < 500 MB)"
        )


if __name__ == "__main__":
    main()
