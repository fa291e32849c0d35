#!/bin/sh
# sensors.sh: an L2A-like pair (the samples with Sentinel-2 L2A metadata added: baseline
# 05.09, BOA_ADD_OFFSET -1000) is detected as s2l2a, the offset is recorded per band, and
# the NDVI score differs from --sensor none the way the offset predicts (|NDVI| grows
# when 0.1 is taken off both reflectances); a baseline without offset warns.
#   sensors.sh GEODELTA CHECK_OUTPUTS SAMPLES OUTDIR
set -u
G=$1 check=$2 S=$3 out=$4
if ! command -v jq >/dev/null 2>&1 || ! command -v gdal_translate >/dev/null 2>&1; then
    echo "SKIP: jq or gdal_translate not installed"
    exit 77
fi
rm -rf "$out"
mkdir -p "$out"
fails=0
l2a="-mo PROCESSING_BASELINE=05.09 -mo BOA_QUANTIFICATION_VALUE=10000"
for b in B2 B3 B4 B8 B11 B12; do
    l2a="$l2a -mo BOA_ADD_OFFSET_$b=-1000"
done
for d in before after; do
    # shellcheck disable=SC2086
    gdal_translate -q $l2a "$S/$d.tif" "$out/$d-l2a.tif" || { echo "FAIL: gdal_translate"; exit 1; }
    gdal_translate -q -mo PROCESSING_BASELINE=05.09 "$S/$d.tif" "$out/$d-nooff.tif" ||
        { echo "FAIL: gdal_translate"; exit 1; }
done
run() {
    dir=$1
    shift
    if ! "$G" detect -m ndvi -o "$out/$dir" --overwrite -q --map-width 640 --keep-score "$@"; then
        echo "FAIL: detect $*"
        fails=$((fails + 1))
    fi
}
run auto -b "$out/before-l2a.tif" -a "$out/after-l2a.tif"
run none -b "$out/before-l2a.tif" -a "$out/after-l2a.tif" --sensor none
run nooff -b "$out/before-nooff.tif" -a "$out/after-nooff.tif" --sensor s2l2a
# the truth raster as a cloud mask (non-zero = masked): the change areas become nodata
# (a fixed threshold: Otsu would move onto the remaining noise)
run fixed -b "$out/before-l2a.tif" -a "$out/after-l2a.tif" -t 0.2
run masked -b "$out/before-l2a.tif" -a "$out/after-l2a.tif" -t 0.2 --mask-after "$S/truth.tif" --threads 2
run useroff -b "$out/before-nooff.tif" -a "$out/after-nooff.tif" --sensor s2l2a --s2-offset -1000
"$check" "$out/auto" || fails=$((fails + 1))
t() {
    if jq -e "$2" "$out/$1" >/dev/null 2>&1; then
        echo "PASS: $1: $2"
    else
        echo "FAIL: $1: $2 (got: $(jq -c "$3" "$out/$1" 2>&1))"
        fails=$((fails + 1))
    fi
}
t auto/manifest.json '.parameters.sensor == "auto" and .parameters.s2_offset == null' '.parameters'
t auto/manifest.json '.auto.sensor.before.profile == "s2l2a" and .auto.sensor.after.profile == "s2l2a"' '.auto.sensor'
t auto/manifest.json '[.auto.sensor.before.bands[] | .offset == -0.1 and .scale == 0.0001 and (.why | test("BOA_ADD_OFFSET_B"))] | all' '.auto.sensor.before.bands'
t auto/manifest.json '.auto.sensor.before.processing_baseline == 5.09' '.auto.sensor.before'
t none/manifest.json '.parameters.sensor == "none" and .auto.sensor.before.profile == "none"' '.auto.sensor'
t none/manifest.json '[.auto.sensor.after.bands[] | .offset == 0 and .scale == 1] | all' '.auto.sensor.after.bands'
t none/manifest.json '.run_id != "'"$(jq -r .run_id "$out/auto/manifest.json")"'"' '.run_id'
# baseline 05.09 without BOA_ADD_OFFSET: -1000 assumed, and said so
t nooff/manifest.json '[.auto.sensor.before.bands[] | .offset == -0.1 and (.why | test("assumed"))] | all' '.auto.sensor.before.bands'
t nooff/manifest.json '[.warnings[] | tostring | test("ASSUMED")] | any' '.warnings'
t useroff/manifest.json '.parameters.s2_offset == -1000 and ([.auto.sensor.after.bands[] | .why == "--s2-offset"] | all)' '.auto.sensor'
t useroff/manifest.json '[.warnings[] | tostring | test("ASSUMED")] | any | not' '.warnings'
t masked/manifest.json '.auto.sensor.after.mask.kind == "nonzero" and .parameters.mask_after != null and .auto.sensor.before.mask == null' '.auto.sensor.after.mask'
pa=$(jq .changed_pixels "$out/fixed/summary.json") pm=$(jq .changed_pixels "$out/masked/summary.json")
va=$(jq .valid_pixels "$out/fixed/summary.json") vm=$(jq .valid_pixels "$out/masked/summary.json")
echo "change pixels: unmasked $pa, change areas masked $pm; valid pixels $va -> $vm"
if [ "$pa" -gt 1000 ] && [ "$pm" -lt $((pa / 10)) ] && [ "$vm" -le $((va - pa + pm)) ]; then
    echo "PASS: masked change areas are nodata"; else
    echo "FAIL: masking the change areas left $pm of $pa change pixels"; fails=$((fails + 1)); fi
# the scores: |NDVI| with the offset is larger wherever red and nir both exceed 0.1, so
# the spread of the score grows; scores of the assumed and given offsets are identical
sd() { gdalinfo -stats -json "$1" 2>/dev/null | jq '.bands[0].stdDev'; }
for d in auto none nooff useroff; do cp "$out/$d/score.tif" "$out/score-$d.tif"; done
sa=$(sd "$out/score-auto.tif") sn=$(sd "$out/score-none.tif")
sno=$(sd "$out/score-nooff.tif") su=$(sd "$out/score-useroff.tif")
echo "score stddev: auto $sa, none $sn, assumed $sno, --s2-offset $su"
if jq -en "$sa > $sn * 1.05" >/dev/null; then echo "PASS: offset widens the NDVI change"; else
    echo "FAIL: score stddev $sa (auto) not above $sn (none)"; fails=$((fails + 1)); fi
if jq -en "$sa == $sno and $sa == $su" >/dev/null; then echo "PASS: same score with assumed/given offset"; else
    echo "FAIL: scores differ: $sa $sno $su"; fails=$((fails + 1)); fi
# batch files take sensor and s2_offset in params (a bad profile is refused up front)
cat > "$out/batch.json" <<JSON
{"defaults": {"method": "ndvi", "params": {"no_map": true}},
 "jobs": [{"id": "none", "before": "before-l2a.tif", "after": "after-l2a.tif",
           "params": {"sensor": "none"}},
          {"id": "off", "before": "before-nooff.tif", "after": "after-nooff.tif",
           "params": {"sensor": "s2l2a", "s2_offset": -1000}}]}
JSON
if "$G" batch "$out/batch.json" -o "$out/batch" -q; then
    t batch/none/manifest.json '.parameters.sensor == "none" and .auto.sensor.after.profile == "none"' '.auto.sensor'
    t batch/off/manifest.json '.parameters.s2_offset == -1000 and ([.auto.sensor.before.bands[] | .offset == -0.1] | all)' '.auto.sensor'
else
    echo "FAIL: batch with sensor params"; fails=$((fails + 1))
fi
printf '%s\n' '{"jobs": [{"id": "x", "before": "before-l2a.tif", "after": "after-l2a.tif",' \
    '"method": "ndvi", "params": {"sensor": "sentinel"}}]}' > "$out/bad.json"
if "$G" batch "$out/bad.json" -o "$out/bad" -q 2> "$out/bad.err" || ! grep -q "params.sensor" "$out/bad.err"; then
    echo "FAIL: batch accepted params.sensor \"sentinel\" ($(cat "$out/bad.err"))"; fails=$((fails + 1))
else
    echo "PASS: batch refuses an unknown sensor"
fi
[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
