"""Synthetic raw frames, master dark and master flat for the example pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from astropy.io import fits

EXAMPLE_PIPELINE = Path(__file__).with_name("example_pipeline.py")


def write_example_inputs(
    directory: Path, frames: int = 4, shape: tuple[int, int] = (32, 32), seed: int = 0
) -> Path:
    """Write raw_frames.fits (one extension per frame), the masters and inputs.yaml.

    Returns the path of inputs.yaml, which maps the example pipeline's inputs to the files.
    """
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    dark = rng.normal(10.0, 1.0, shape).astype(np.float32)
    flat = rng.uniform(0.9, 1.1, shape).astype(np.float32)
    sky = 100.0 + rng.normal(0.0, 5.0, (frames, *shape))
    hdus = [fits.PrimaryHDU()]
    for n in range(frames):
        raw = (sky[n] * flat + dark).astype(np.float32)
        hdus.append(fits.ImageHDU(raw, name=f"FRAME{n}"))
    fits.HDUList(hdus).writeto(directory / "raw_frames.fits", overwrite=True)
    fits.PrimaryHDU(dark).writeto(directory / "master_dark.fits", overwrite=True)
    fits.PrimaryHDU(flat).writeto(directory / "master_flat.fits", overwrite=True)
    inputs = {
        "raw_frames": "raw_frames.fits",
        "master_dark": "master_dark.fits",
        "master_flat": "master_flat.fits",
    }
    path = directory / "inputs.yaml"
    path.write_text(yaml.safe_dump(inputs, sort_keys=False))
    return path
