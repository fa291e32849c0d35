#!/bin/sh
# recovered_errors.sh: an error a stage recovers from (co-registration skipped on
# unrelated images, with a warning) never reaches run.log as an ERROR: the run succeeds
# and its log says WARNING only. A run that fails has its one ERROR line, the root cause.
#   recovered_errors.sh GEODELTA GD_MAKE_SAMPLES WORKDIR
set -eu
G=$1 gen=$2 W=$3
rm -rf "$W"
mkdir -p "$W"
"$gen" "$W/s" --size 512 >/dev/null
# two unrelated areas given the same footprint: phase correlation finds no shift
gdal_translate -q -srcwin 0 0 256 256 "$W/s/before.tif" "$W/u_before.tif"
gdal_translate -q -srcwin 256 256 256 256 -a_ullr 400000 5800000 402560 5797440 \
    "$W/s/after.tif" "$W/u_after.tif"
"$G" detect -b "$W/u_before.tif" -a "$W/u_after.tif" -m ndvi -o "$W/u" --no-map -q
grep -q 'WARNING co-registration skipped' "$W/u/run.log" ||
    { cat "$W/u/run.log"; echo "FAIL: the recovery is not in run.log"; exit 1; }
if grep -q ' ERROR ' "$W/u/run.log"; then
    grep ' ERROR ' "$W/u/run.log"
    echo "FAIL: a run that succeeded has an ERROR in run.log"
    exit 1
fi
grep -q '"applied": false' "$W/u/manifest.json" || { echo "FAIL: manifest"; exit 1; }
# a failing run: truth.tif has no nir band
set +e
"$G" detect -b "$W/s/before.tif" -a "$W/s/truth.tif" -m ndvi -o "$W/f" --no-map -q 2>"$W/f.err"
rc=$?
set -e
[ "$rc" != 0 ] || { echo "FAIL: the failing run exited 0"; exit 1; }
n=$(grep -c ' ERROR ' "$W/f/run.log" || true)
[ "$n" = 1 ] || { cat "$W/f/run.log"; echo "FAIL: $n ERROR lines in a failed run's log, expected 1"; exit 1; }
# the same message as on stderr
msg=$(sed 's/^geodelta: //' "$W/f.err")
grep -qF "ERROR $msg" "$W/f/run.log" || { echo "FAIL: run.log's ERROR is not the reported error"; exit 1; }
echo PASS
