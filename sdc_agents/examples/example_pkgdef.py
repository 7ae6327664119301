"""Package Definition of the example VIS-like pipeline (commands beside it in `commands/`)."""

from euclidwf.framework.workflow_dsl import ComputingResources, Executable, Input, Output

split = Executable(
    command="commands/split_frames.py",
    inputs=[Input("frames")],
    outputs=[Output("images", mime_type="dir")],
    resources=ComputingResources(cores=1, ram=0.5, walltime=0.1),
)

correct_dark = Executable(
    command="commands/correct_dark.py",
    inputs=[Input("image"), Input("master_dark")],
    outputs=[
        Output("corrected", mime_type="fits"),
        Output("quality", mime_type="json", lineage=["image"]),
    ],
    resources=ComputingResources(cores=1, ram=0.5, walltime=0.1, vms=4.0),
)

correct_flat = Executable(
    command="commands/correct_flat.py",
    inputs=[Input("image"), Input("master_flat")],
    outputs=[Output("corrected", mime_type="fits")],
    resources=ComputingResources(cores=1, ram=0.5, walltime=0.1),
)

combine = Executable(
    command="commands/combine_images.py",
    inputs=[Input("images")],
    outputs=[Output("combined", mime_type="fits")],
    resources=ComputingResources(cores=1, ram=1.0, walltime=0.1),
)
