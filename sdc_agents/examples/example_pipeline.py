"""Pipeline Script: split raw frames, correct each for dark and flat in parallel, combine."""

from example_pkgdef import combine, correct_dark, correct_flat, split

from euclidwf.framework.workflow_dsl import parallel, pipeline


@parallel(iterable="image")
def correct(image, master_dark, master_flat):  # type: ignore[no-untyped-def]
    dark_corrected, quality = correct_dark(image=image, master_dark=master_dark)
    flat_corrected = correct_flat(image=dark_corrected, master_flat=master_flat)
    return flat_corrected, quality


@pipeline(outputs=("combined", "quality"))
def vis_pipeline(raw_frames, master_dark, master_flat):  # type: ignore[no-untyped-def]
    images = split(frames=raw_frames)
    corrected, quality = correct(image=images, master_dark=master_dark, master_flat=master_flat)
    combined = combine(images=corrected)
    return combined, quality
