#!/bin/sh
# gdal_warnings.sh: GDAL's own warnings reach run.log and the manifest's warnings, once
# each however often GDAL repeats them (a VRT with an unknown resampling warns on every
# read, from every worker thread), not on stderr; an ordinary run records none.
#   gdal_warnings.sh GEODELTA GD_MAKE_SAMPLES WORKDIR
set -eu
G=$1 gen=$2 W=$3
rm -rf "$W"
mkdir -p "$W"
"$gen" "$W/s" --size 512 >/dev/null
gdal_translate -q -of VRT "$W/s/after.tif" "$W/after.vrt"
sed 's|<SimpleSource>|<SimpleSource resampling="bogus">|' "$W/after.vrt" > "$W/bogus.vrt"
# the plain run first: no GDAL warning, none recorded
"$G" detect -b "$W/s/before.tif" -a "$W/after.vrt" -m ndvi -o "$W/plain" --no-map -q --threads 2
grep -q '"warnings": \[\]' "$W/plain/manifest.json" ||
    { grep -A5 '"warnings"' "$W/plain/manifest.json"; echo "FAIL: warnings in a plain run"; exit 1; }
"$G" detect -b "$W/s/before.tif" -a "$W/bogus.vrt" -m ndvi -o "$W/bogus" --no-map --threads 2 \
    2>"$W/bogus.err"
want='GDAL: GDAL_RASTERIO_RESAMPLING = bogus not supported'
n=$(grep -c "WARNING $want" "$W/bogus/run.log" || true)
[ "$n" = 1 ] || { cat "$W/bogus/run.log"; echo "FAIL: $n lines of the GDAL warning in run.log, expected 1"; exit 1; }
n=$(grep -c "\"$want\"" "$W/bogus/manifest.json" || true)
[ "$n" = 1 ] || { grep -A5 '"warnings"' "$W/bogus/manifest.json"; echo "FAIL: $n GDAL warnings in the manifest, expected 1"; exit 1; }
# stderr stays geodelta's own (a failed run's one line): GDAL's warnings are evidence
if grep -q "GDAL:" "$W/bogus.err"; then cat "$W/bogus.err"; echo "FAIL: GDAL's warning on stderr"; exit 1; fi
# the warning changes nothing else: the same change found as in the plain run
a=$(grep '"changed_pixels"' "$W/plain/summary.json") b=$(grep '"changed_pixels"' "$W/bogus/summary.json")
[ "$a" = "$b" ] || { echo "FAIL: $a vs $b"; exit 1; }
"$G" verify -q "$W/bogus/manifest.json" || { echo "FAIL: verify"; exit 1; }
echo PASS
