#!/usr/bin/env python3
"""Divide one dark-corrected image by the normalised master flat."""

import numpy as np
from astropy.io import fits
from portargs import parse_ports


def main() -> None:
    """corrected = image / (flat / median(flat)); flat pixels <= 0 leave the pixel as is."""
    ports = parse_ports(["image", "master_flat"], ["corrected"])
    image = fits.getdata(ports["image"]).astype(np.float32)
    flat = fits.getdata(ports["master_flat"]).astype(np.float32)
    norm = flat / np.median(flat)
    safe = np.where(norm > 0, norm, 1.0)
    fits.PrimaryHDU(image / safe).writeto(ports["corrected"], overwrite=True)


if __name__ == "__main__":
    main()
