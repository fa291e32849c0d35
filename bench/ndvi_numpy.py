#!/usr/bin/python3
"""ndvi_numpy.py: the typical Python approach the benchmark compares with: rasterio reads
red and NIR of both dates whole, numpy computes dNDVI, skimage's Otsu thresholds |dNDVI|,
and rasterio writes the two-sided change classes as a DEFLATE GeoTIFF.
usage: ndvi_numpy.py BEFORE AFTER OUT.tif  (bands found by description B04/B08)"""
import sys

import numpy as np
import rasterio
from skimage.filters import threshold_otsu


def bands(ds):
    names = list(ds.descriptions)
    return names.index("B04") + 1, names.index("B08") + 1


def ndvi(path):
    with rasterio.open(path) as ds:
        r, n = bands(ds)
        red = ds.read(r).astype(np.float32)
        nir = ds.read(n).astype(np.float32)
        profile = ds.profile
    with np.errstate(divide="ignore", invalid="ignore"):
        return (nir - red) / (nir + red), profile


def main():
    before, after, out = sys.argv[1:4]
    nb, profile = ndvi(before)
    na, _ = ndvi(after)
    d = na - nb
    valid = np.isfinite(d)
    t = threshold_otsu(np.abs(d[valid]), nbins=4096)
    cls = np.zeros(d.shape, dtype=np.uint8)
    cls[d <= -t] = 1
    cls[d >= t] = 2
    cls[~valid] = 255
    profile.update(count=1, dtype="uint8", nodata=255, compress="deflate", tiled=True,
                   blockxsize=512, blockysize=512, interleave="band")
    with rasterio.open(out, "w", **profile) as ds:
        ds.write(cls, 1)
    print(f"threshold {t:.6g}, changed {np.count_nonzero((cls == 1) | (cls == 2))} px")


if __name__ == "__main__":
    main()
