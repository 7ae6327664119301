#!/usr/bin/env python3
"""Split a multi-extension FITS file of raw frames into one FITS image per frame."""

from astropy.io import fits
from portargs import parse_ports


def main() -> None:
    """Write `images/frame_NNN.fits` for every image extension of `frames`."""
    ports = parse_ports(["frames"], ["images"])
    ports["images"].mkdir(parents=True, exist_ok=True)
    with fits.open(ports["frames"]) as hdus:
        frames = [h for h in hdus if h.data is not None]
        for n, hdu in enumerate(frames):
            out = ports["images"] / f"frame_{n:03d}.fits"
            fits.PrimaryHDU(hdu.data, header=hdu.header).writeto(out, overwrite=True)
    print(f"split {len(frames)} frames")


if __name__ == "__main__":
    main()
