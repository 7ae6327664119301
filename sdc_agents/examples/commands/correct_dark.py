#!/usr/bin/env python3
"""Subtract the master dark from one image and report simple quality figures."""

import json

import numpy as np
from astropy.io import fits
from portargs import parse_ports


def main() -> None:
    """corrected = image - master_dark; quality = mean, std and shape of the result."""
    ports = parse_ports(["image", "master_dark"], ["corrected", "quality"])
    image = fits.getdata(ports["image"]).astype(np.float32)
    dark = fits.getdata(ports["master_dark"]).astype(np.float32)
    if image.shape != dark.shape:
        raise SystemExit(f"image shape {image.shape} != master dark shape {dark.shape}")
    corrected = image - dark
    fits.PrimaryHDU(corrected).writeto(ports["corrected"], overwrite=True)
    quality = {
        "mean": float(corrected.mean()),
        "std": float(corrected.std()),
        "shape": list(corrected.shape),
    }
    ports["quality"].write_text(json.dumps(quality))


if __name__ == "__main__":
    main()
