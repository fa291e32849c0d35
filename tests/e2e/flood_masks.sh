#!/bin/sh
# flood_masks.sh: flood's --dem slope mask and --permanent-water mask on the --swir
# samples (UTM 33N, 10 m, 512 px; the synthetic flood spans rows ~110-330 east of the
# river), the auxiliary inputs in the manifest, run id and verify --inputs.
# usage: flood_masks.sh GEODELTA SAMPLES_SWIR OUTDIR
set -eu
G="$1"
S="$2"
W="$3"
rm -rf "$W"
mkdir -p "$W"
fail() { echo "FAIL: $*" >&2; exit 1; }

# class-c pixels of a class raster in rows [lo, hi)
count() { # file lo hi class
    gdal_translate -q -of AAIGrid "$1" "$W/c.asc"
    awk -v lo="$2" -v hi="$3" -v c="$4" \
        'NR > 6 { r = NR - 7; if (r >= lo && r < hi) for (i = 1; i <= NF; i++) if ($i == c) n++ }
         END { print n + 0 }' "$W/c.asc"
}
run_id() { sed -n 's/^  "run_id": "\([0-9a-f]\{64\}\)",$/\1/p' "$1"; }

# a 30 m DEM over the scene: flat, but a 22 degree ramp (z = 0.4 x) between northings
# 5797900 and 5798800, i.e. rows 120-210 of the grid, across the upper part of the flood
awk 'BEGIN { n = 171; print "ncols " n; print "nrows " n; print "xllcorner 400000";
             print "yllcorner " 5800000 - n * 30; print "cellsize 30";
             for (r = 0; r < n; r++) { y = 5800000 - (r + 0.5) * 30; line = "";
               for (c = 0; c < n; c++) { x = (c + 0.5) * 30;
                 line = line sprintf("%.2f ", (y < 5798800 && y > 5797900) ? 0.4 * x : 0) }
               print line } }' > "$W/dem.asc"
gdal_translate -q -a_srs EPSG:32633 -ot Float32 "$W/dem.asc" "$W/dem.tif"

"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m flood -o "$W/plain" -q --no-map
"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m flood -o "$W/dem" -q --no-map \
    --dem "$W/dem.tif"
# inside the ramp (2 rows off its edges, where bilinear smoothing makes walls)
before=$(count "$W/plain/change.tif" 122 208 1)
after=$(count "$W/dem/change.tif" 122 208 1)
[ "$before" -gt 1000 ] || fail "the synthetic flood should reach the ramp rows ($before px)"
[ "$after" -eq 0 ] || fail "$after px of new water left on a 22 degree slope"
flat0=$(count "$W/plain/change.tif" 215 512 1)
flat1=$(count "$W/dem/change.tif" 215 512 1)
[ "$flat1" -gt $((flat0 * 95 / 100)) ] || fail "flat new water lost: $flat0 -> $flat1 px"
echo "ok: --dem: new water on the ramp $before -> $after px, on flat ground $flat0 -> $flat1 px"
grep -q '"computed_on": "grid"' "$W/dem/manifest.json" ||
    fail "slope not computed on the projected grid"
grep -q '"auxiliary_inputs"' "$W/dem/manifest.json" && grep -q '"role": "dem"' "$W/dem/manifest.json" ||
    fail "the DEM is not listed in auxiliary_inputs"
grep -q '"auxiliary_inputs"' "$W/plain/manifest.json" &&
    fail "a run without auxiliary files lists auxiliary_inputs"

# the run id follows the DEM's content, not its path
cp "$W/dem.tif" "$W/dem_copy.tif"
"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m flood -o "$W/dem2" -q --no-map \
    --dem "$W/dem_copy.tif"
r1=$(run_id "$W/dem/manifest.json")
r2=$(run_id "$W/dem2/manifest.json")
r0=$(run_id "$W/plain/manifest.json")
[ ${#r1} -eq 64 ] || fail "no run id in the manifest"
[ "$r1" = "$r2" ] || fail "the same DEM under another path changed the run id"
[ "$r1" != "$r0" ] || fail "the DEM does not enter the run id"
echo "ok: run id $r1 depends on the DEM's bytes, not its path"

# verify --inputs names an altered DEM; outputs alone still verify
"$G" verify --inputs -q "$W/dem/manifest.json" || fail "clean run with --dem does not verify"
printf 'x' >> "$W/dem.tif"
if "$G" verify --inputs "$W/dem/manifest.json" 2> "$W/verify.err"; then
    fail "verify --inputs missed the altered DEM"
fi
grep -q "auxiliary input .*dem.tif has been altered" "$W/verify.err" ||
    fail "verify does not name the DEM: $(cat "$W/verify.err")"
"$G" verify -q "$W/dem/manifest.json" || fail "outputs of the DEM run no longer verify"
echo "ok: verify --inputs catches the altered DEM"

# a permanent-water polygon (GeoJSON, WGS84) over rows 240-310: class 2 there, no new water
ring=$(printf '400000 5797600\n405120 5797600\n405120 5796900\n400000 5796900\n400000 5797600\n' |
       gdaltransform -s_srs EPSG:32633 -t_srs EPSG:4326 -output_xy |
       awk '{ printf "%s[%.9f,%.9f]", (NR > 1 ? "," : ""), $1, $2 }')
printf '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[%s]]}}]}\n' \
    "$ring" > "$W/pw.geojson"
cp "$W/pw.geojson" "$W/zones.geojson"
"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m flood -o "$W/pw" -q --no-map \
    --permanent-water "$W/pw.geojson" --zones "$W/zones.geojson"
n1=$(count "$W/pw/change.tif" 241 309 1)
n2=$(count "$W/pw/change.tif" 241 309 2)
p1=$(count "$W/plain/change.tif" 241 309 1)
[ "$p1" -gt 1000 ] || fail "the synthetic flood should reach the polygon's rows ($p1 px)"
[ "$n1" -eq 0 ] || fail "$n1 px of new water inside the permanent-water polygon"
[ "$n2" -eq $((68 * 512)) ] || fail "$n2 px of class 2 inside the polygon, want $((68 * 512))"
echo "ok: --permanent-water polygon: new water $p1 -> $n1 px, class 2 on all $n2 px"
# the zones file is an auxiliary input too: listed after the mask, checked by verify
grep -q '"role": "zones"' "$W/pw/manifest.json" || fail "zones not in auxiliary_inputs"
"$G" verify --inputs -q "$W/pw/manifest.json" || fail "clean run with zones does not verify"
printf ' ' >> "$W/zones.geojson"
if "$G" verify --inputs "$W/pw/manifest.json" 2> "$W/verify_z.err"; then
    fail "verify --inputs missed the altered zones file"
fi
grep -q "zones.geojson has been altered" "$W/verify_z.err" || fail "message: $(cat "$W/verify_z.err")"
echo "ok: verify --inputs catches an altered zones file"
# the same mask as a raster (non-zero = water) gives the same classes
awk 'BEGIN { print "ncols 512"; print "nrows 512"; print "xllcorner 400000";
             print "yllcorner 5794880"; print "cellsize 10";
             for (r = 0; r < 512; r++) { line = "";
               for (c = 0; c < 512; c++) line = line ((r >= 240 && r < 310) ? "7 " : "0 ");
               print line } }' > "$W/pw.asc"
gdal_translate -q -a_srs EPSG:32633 -ot Byte "$W/pw.asc" "$W/pw.tif"
"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m flood -o "$W/pwr" -q --no-map \
    --permanent-water "$W/pw.tif"
[ "$(count "$W/pwr/change.tif" 0 512 2)" = "$(count "$W/pw/change.tif" 0 512 2)" ] ||
    fail "raster and vector permanent-water masks disagree"
echo "ok: raster permanent-water mask = vector mask"

# a DEM that misses the scene is an input error (exit 2) that says so
gdal_translate -q -a_ullr 900000 5800000 905130 5794870 "$W/dem_copy.tif" "$W/far.tif"
rc=0
"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m flood -o "$W/far" -q --no-map \
    --dem "$W/far.tif" 2> "$W/far.err" || rc=$?
[ "$rc" -eq 2 ] || fail "a DEM outside the scene: exit $rc, want 2"
grep -q "does not cover the scene" "$W/far.err" || fail "message: $(cat "$W/far.err")"
rc=0
"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m ndvi -o "$W/ndvi" -q --no-map \
    --dem "$W/dem_copy.tif" 2> /dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "--dem with ndvi: exit $rc, want 1"
echo "ok: DEM outside the scene and --dem with another method are refused"

# a geographic grid (both dates warped to EPSG:4326): the slope is taken on a local
# transverse Mercator, so the ramp still masks the new water there
for d in before after; do
    gdalwarp -q -t_srs EPSG:4326 -r near "$S/$d.tif" "$W/geo_$d.tif"
done
"$G" detect -b "$W/geo_before.tif" -a "$W/geo_after.tif" -m flood -o "$W/geo" -q --no-map \
    --dem "$W/dem_copy.tif"
grep -q '"computed_on": "local transverse Mercator"' "$W/geo/manifest.json" ||
    fail "geographic grid: slope not on a local projection"
# back onto the UTM grid to count by rows
gdalwarp -q -r near -t_srs EPSG:32633 -te 400000 5794880 405120 5800000 -tr 10 10 \
    "$W/geo/change.tif" "$W/geo_utm.tif"
g1=$(count "$W/geo_utm.tif" 124 206 1)
[ "$g1" -eq 0 ] || fail "geographic grid: $g1 px of new water on the ramp"
echo "ok: geographic grid: no new water on the ramp"

# a manifest edited to claim another DEM no longer matches its run id
mkdir -p "$W/edited"
cp "$W/dem/"* "$W/edited/"
awk '/"auxiliary_inputs"/ { aux = 1 }
     aux && /"sha256"/ { sub(/"[0-9a-f]+"/, "\"" sprintf("%064d", 0) "\""); aux = 0 }
     { print }' "$W/dem/manifest.json" > "$W/edited/manifest.json"
cmp -s "$W/dem/manifest.json" "$W/edited/manifest.json" && fail "the manifest edit did nothing"
if "$G" verify "$W/edited/manifest.json" 2> "$W/edited.err"; then
    fail "verify accepted a manifest whose auxiliary_inputs hash was edited"
fi
grep -q "run_id .* does not follow" "$W/edited.err" || fail "message: $(cat "$W/edited.err")"
echo "ok: an edited auxiliary_inputs hash breaks the run id check"

# the documented schema describes the new member (when python3-jsonschema is there)
SCHEMA="$(dirname "$0")/../../docs/manifest.schema.json"
if python3 -c 'import jsonschema' 2>/dev/null; then
    python3 - "$SCHEMA" "$W/dem/manifest.json" "$W/pw/manifest.json" <<'PY' || fail "manifest.json does not follow docs/manifest.schema.json"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
for m in sys.argv[2:]:
    jsonschema.validate(json.load(open(m)), schema, cls=jsonschema.Draft202012Validator)
PY
    echo "ok: manifests with auxiliary_inputs follow docs/manifest.schema.json"
fi
