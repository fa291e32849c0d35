#!/bin/sh
# grid.sh: --aoi cuts the analysis to a polygon (grid = its extent on the before image's
# pixels, nodata outside, co-registration still applied), --t-srs/--res reproject both
# dates (geodesic areas unchanged), a batch job's aoi does the same, an AOI that misses
# the scene is an input error; no method writes beside its inputs (.aux.xml).
# usage: grid.sh GEODELTA GD_MAKE_SAMPLES EVAL_CHANGE WORKDIR
set -eu
G=$1 gen=$2 eval=$3 W=$4
rm -rf "$W"
mkdir -p "$W"
fail() { echo "FAIL: $*"; exit 1; }
"$gen" "$W/s" --size 512 --supersample 4 --shift 1.3,-0.7 >/dev/null
# a triangle in the samples' CRS (UTM 33N, pixels of 10 m from 400000, 5800000)
cat > "$W/tri.geojson" <<'JSON'
{"type": "FeatureCollection",
 "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
 "features": [{"type": "Feature", "properties": {"name": "triangle"},
   "geometry": {"type": "Polygon", "coordinates":
     [[[401000, 5796000], [403000, 5796000], [401000, 5799000], [401000, 5796000]]]}}]}
JSON

"$G" detect -b "$W/s/before.tif" -a "$W/s/after.tif" -m ndvi -o "$W/aoi" \
    --aoi "$W/tri.geojson" -q
info=$(gdalinfo "$W/aoi/change.tif")
echo "$info" | grep -q "Size is 200, 300" || fail "AOI grid is not 200x300: $(echo "$info" | grep 'Size is')"
echo "$info" | grep -q "Origin = (401000.0*,5799000.0*)" || fail "AOI grid origin: $(echo "$info" | grep Origin)"
out=$(gdallocationinfo -valonly "$W/aoi/change.tif" 190 10)
[ "$out" = 255 ] || fail "pixel (190, 10) outside the triangle is $out, not nodata 255"
in=$(gdallocationinfo -valonly "$W/aoi/change.tif" 10 290)
[ "$in" != 255 ] || fail "pixel (10, 290) inside the triangle is nodata"
grep -q '"applied": true' "$W/aoi/manifest.json" || fail "no co-registration applied with --aoi"
grep -q '"aoi_features": 1' "$W/aoi/manifest.json" || fail "auto.grid does not record the AOI"
grep -q '"role": "aoi"' "$W/aoi/manifest.json" || fail "the AOI file is not in auxiliary_inputs"
# valid area = the triangle's 300 ha (pixel-centre rule, within 1 %)
ha=$(sed -n 's/.*"valid_ha": *\([0-9.]*\).*/\1/p' "$W/aoi/summary.json")
awk -v h="$ha" 'BEGIN { exit (h > 297 && h < 303) ? 0 : 1 }' || fail "valid area $ha ha, expected ~300"
echo "aoi: 200x300 grid, valid $ha ha (triangle 300 ha)"
# accuracy inside the triangle: the truth cropped the same way, outside ignored
gdal_translate -q -projwin 401000 5799000 403000 5796000 "$W/s/truth.tif" "$W/truth_aoi.tif"
gdal_rasterize -q -i -burn 99 "$W/tri.geojson" "$W/truth_aoi.tif"
"$eval" "$W/aoi/change.tif" "$W/truth_aoi.tif" --name "ndvi in the AOI" --gt-ignore 99 \
    --min-pcc 0.99 --min-kappa 0.95 --min-f1 0.95

# reprojection: both dates warped; geodesic areas within 1 % of the native grid's
"$G" detect -b "$W/s/before.tif" -a "$W/s/after.tif" -m ndvi -o "$W/native" -q --no-map
"$G" detect -b "$W/s/before.tif" -a "$W/s/after.tif" -m ndvi -o "$W/3857" -q --no-map \
    --t-srs EPSG:3857 --res 25
gdalinfo "$W/3857/change.tif" | grep -q 'Pseudo-Mercator' || fail "--t-srs EPSG:3857 not applied"
gdalinfo "$W/3857/change.tif" | grep -q 'Pixel Size = (25.0*,-25.0*)' || fail "--res 25 not applied"
v0=$(sed -n 's/.*"valid_ha": *\([0-9.]*\).*/\1/p' "$W/native/summary.json")
v1=$(sed -n 's/.*"valid_ha": *\([0-9.]*\).*/\1/p' "$W/3857/summary.json")
c0=$(sed -n 's/.*"changed_ha": *\([0-9.]*\).*/\1/p' "$W/native/summary.json")
c1=$(sed -n 's/.*"changed_ha": *\([0-9.]*\).*/\1/p' "$W/3857/summary.json")
echo "t-srs: valid $v0 -> $v1 ha, changed $c0 -> $c1 ha"
awk -v a="$v0" -v b="$v1" 'BEGIN { d = (b - a) / a; exit (d > -0.01 && d < 0.01) ? 0 : 1 }' ||
    fail "valid area changed by the reprojection: $v0 -> $v1 ha"
awk -v a="$c0" -v b="$c1" 'BEGIN { d = (b - a) / a; exit (d > -0.05 && d < 0.05) ? 0 : 1 }' ||
    fail "changed area differs by more than 5 % after reprojection: $c0 -> $c1 ha"

# a batch job's aoi
mkdir -p "$W/b"
cat > "$W/b/jobs.json" <<JSON
{"jobs": [{"id": "tri", "before": "$W/s/before.tif", "after": "$W/s/after.tif",
           "method": "ndvi", "aoi": "$W/tri.geojson", "params": {"no_map": true}}]}
JSON
"$G" batch "$W/b/jobs.json" -o "$W/b/out" -q >/dev/null 2>&1 || fail "batch with aoi failed"
gdalinfo "$W/b/out/tri/change.tif" | grep -q "Size is 200, 300" || fail "batch aoi not applied"

# an AOI away from the scene
sed 's/40\([0-9]\)000, 579/50\1000, 579/g' "$W/tri.geojson" > "$W/far.geojson"
set +e
"$G" detect -b "$W/s/before.tif" -a "$W/s/after.tif" -m ndvi -o "$W/far" --aoi "$W/far.geojson" \
    -q 2>"$W/far.err"
rc=$?
set -e
[ $rc = 2 ] || fail "AOI outside the scene: exit $rc, expected 2"
grep -q "does not overlap" "$W/far.err" || fail "AOI outside the scene: $(cat "$W/far.err")"
# inputs are evidence: no method writes beside them (GDAL's .aux.xml statistics)
for m in cva irmad urban; do
    "$G" detect -b "$W/s/before.tif" -a "$W/s/after.tif" -m $m -o "$W/ro-$m" -q --no-map
done
ls "$W/s/"*.aux.xml >/dev/null 2>&1 && fail "a run wrote beside its inputs: $(ls "$W/s/"*.aux.xml)"
echo "grid: all cases passed"
