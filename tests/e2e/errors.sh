#!/bin/sh
# errors.sh: geodelta's error paths: exit code, and stderr exactly one line that starts
# with "geodelta" and names the offending file or option.
#   errors.sh GEODELTA SAMPLES_DIR WORKDIR
# Progress lines (GDAL style "0...10...20") are not counted as error lines; blank lines are.
# After a failing run the output folder must hold no manifest.json and no *.tmp-* file.
set -u
G=$1 S=$2 W=$3
rm -rf "$W"
mkdir -p "$W"
fails=0
n=0

. "$(dirname "$0")/expect.sh"

B="$S/before.tif" A="$S/after.tif"

# ---- fixtures --------------------------------------------------------------------------
mkdir -p "$W/adir"
: >"$W/empty.tif"
echo "this is not a raster" >"$W/notes.tif"
echo "a regular file" >"$W/afile"
# after.tif moved ~4600 km east (same size, far outside the before image)
gdal_translate -q -a_ullr 5000000 1000000 5005120 994880 "$A" "$W/far.tif" || echo "FAIL: cannot make far.tif"
# constant 4-band image with a CRS
gdal_create -q -of GTiff -ot UInt16 -outsize 64 64 -bands 4 -burn 1500 -a_srs EPSG:32633 \
    -a_ullr 400000 5800000 400640 5799360 "$W/const.tif" || echo "FAIL: cannot make const.tif"
# two images without CRS and of different sizes
gdal_create -q -of GTiff -ot UInt16 -outsize 64 64 -bands 1 -burn 10 "$W/nocrs_a.tif" || echo "FAIL: cannot make nocrs_a.tif"
gdal_create -q -of GTiff -ot UInt16 -outsize 80 70 -bands 1 -burn 20 "$W/nocrs_b.tif" || echo "FAIL: cannot make nocrs_b.tif"

# ---- cases ---------------------------------------------------------------------------
expect "help" 0 "" -- --help
expect "detect --help" 0 "" -- detect --help
expect "verify --help" 0 "" -- verify --help
expect "methods" 0 "" -- methods

expect "missing before file" 2 "$W/nope.tif" -- detect -b "$W/nope.tif" -a "$A" -m ndvi -o OUT
expect "directory as input" 2 "$W/adir" -- detect -b "$W/adir" -a "$A" -m ndvi -o OUT
expect "empty file" 2 "$W/empty.tif" -- detect -b "$W/empty.tif" -a "$A" -m ndvi -o OUT
expect "text file, not a raster" 2 "$W/notes.tif" -- detect -b "$W/notes.tif" -a "$A" -m ndvi -o OUT
expect "disjoint extents" 2 "$W/far.tif" -- detect -b "$B" -a "$W/far.tif" -m ndvi -o OUT
expect "unknown method" 1 "bogus" -- detect -b "$B" -a "$A" -m bogus -o OUT
expect "missing required -m" 1 "-m" -- detect -b "$B" -a "$A" -o OUT
expect "missing required -o" 1 "-o" -- detect -b "$B" -a "$A" -m ndvi
expect "band missing (nbr needs swir2)" 2 "swir2 --bands" -- detect -b "$B" -a "$A" -m nbr -o OUT
expect "bad --nbr-classes" 1 "--nbr-classes" -- detect -b "$B" -a "$A" -m nbr --nbr-classes foo -o OUT
expect "--nbr-classes on ndvi" 1 "--nbr-classes" -- detect -b "$B" -a "$A" -m ndvi --nbr-classes usgs -o OUT
expect "--nbr-classes usgs with -t" 1 "--threshold" -- detect -b "$B" -a "$A" -m nbr --nbr-classes usgs -t 0.2 -o OUT
expect "bad --bands-before (band x)" 1 "--bands-before" -- detect -b "$B" -a "$A" -m ndvi --bands-before red=x -o OUT
expect "bad --bands-before (role foo)" 1 "--bands-before foo" -- detect -b "$B" -a "$A" -m ndvi --bands-before foo=1 -o OUT
expect "bad --mmu-ha" 1 "--mmu-ha" -- detect -b "$B" -a "$A" -m ndvi --mmu-ha abc -o OUT
expect "negative --mmu-ha" 1 "--mmu-ha" -- detect -b "$B" -a "$A" -m ndvi --mmu-ha -1 -o OUT
expect "bad --threshold" 1 "--threshold" -- detect -b "$B" -a "$A" -m ndvi --threshold xyz -o OUT
expect "unwritable output folder" 4 "$W/afile/sub" -- detect -b "$B" -a "$A" -m ndvi -o "$W/afile/sub"
expect "urban without band roles" 2 "$W/const.tif urban" -- detect -b "$W/const.tif" -a "$W/const.tif" -m urban --coreg none -o OUT
expect "constant images" 2 "threshold" -- detect -b "$W/const.tif" -a "$W/const.tif" -m ndvi --bands-before red=3,nir=4 --coreg none -o OUT
expect "no CRS, different sizes" 2 "$W/nocrs_b.tif" -- detect -b "$W/nocrs_a.tif" -a "$W/nocrs_b.tif" -m logratio -o OUT
expect "missing --map-aoi file" 2 "$W/no_aoi.geojson" -- detect -b "$B" -a "$A" -m ndvi --map-aoi "$W/no_aoi.geojson" -o OUT
expect "missing --aoi file" 2 "$W/no_aoi.geojson" -- detect -b "$B" -a "$A" -m ndvi --aoi "$W/no_aoi.geojson" -o OUT
expect "bad --res" 1 "--res" -- detect -b "$B" -a "$A" -m ndvi --res 0 -o OUT
expect "bad --t-srs" 1 "--t-srs EPSG:999999" -- detect -b "$B" -a "$A" -m ndvi --t-srs EPSG:999999 -o OUT
printf '%s\n' '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},' \
    '"geometry": {"type": "Polygon", "coordinates": [[[13, 52], [14, 52], [14, 53], [13, 52]]]}}]}' \
    > "$W/aoi.geojson"
expect "--aoi without CRS" 2 "--aoi CRS" -- detect -b "$W/nocrs_a.tif" -a "$W/nocrs_a.tif" -m logratio --aoi "$W/aoi.geojson" -o OUT

# existing outputs without --overwrite: exit 4 and the existing files untouched
EX="$W/existing"
if "$G" detect -b "$B" -a "$A" -m ndvi -o "$EX" -q; then
    rm -rf "$W/existing.copy"
    cp -Rp "$EX" "$W/existing.copy"
    expect "existing outputs without --overwrite" 4 "$EX --overwrite" -- detect -b "$B" -a "$A" -m ndvi -o "$EX"
    if diff -r "$EX" "$W/existing.copy" >/dev/null; then
        echo "PASS: existing outputs untouched"
    else
        echo "FAIL: existing outputs were modified by a run without --overwrite"
        diff -rq "$EX" "$W/existing.copy" | sed 's/^/      /'
        fails=$((fails + 1))
    fi
else
    echo "FAIL: existing outputs: the first detect run failed"
    fails=$((fails + 1))
fi

expect_summary "error"
