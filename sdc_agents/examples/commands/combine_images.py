#!/usr/bin/env python3
"""Median-combine the corrected images listed in a JSON list file."""

import numpy as np
from astropy.io import fits
from portargs import parse_ports, read_list_file


def main() -> None:
    """combined = pixel-wise median of every listed image, NCOMBINE in the header."""
    ports = parse_ports(["images"], ["combined"])
    paths = read_list_file(ports["images"])
    if not paths:
        raise SystemExit("no images to combine")
    stack = np.stack([fits.getdata(p).astype(np.float32) for p in paths])
    hdu = fits.PrimaryHDU(np.median(stack, axis=0))
    hdu.header["NCOMBINE"] = (len(paths), "number of images combined")
    hdu.writeto(ports["combined"], overwrite=True)


if __name__ == "__main__":
    main()
