"""Pipeline Script: combine a tile's calibrated frames into one mosaic image."""

from example_pkgdef import combine

from euclidwf.framework.workflow_dsl import pipeline


@pipeline(outputs=("mosaic",))
def mosaic_pipeline(calibrated):  # type: ignore[no-untyped-def]
    return combine(images=calibrated)
