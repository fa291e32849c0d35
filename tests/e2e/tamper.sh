#!/bin/sh
# tamper.sh: geodelta verify must notice an altered output and a missing output.
#   tamper.sh GEODELTA SAMPLES WORKDIR
set -u
geodelta=$1 samples=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
fails=0
pass() { echo "PASS: $1"; }
failc() { echo "FAIL: $1"; fails=$((fails + 1)); }

if ! "$geodelta" detect -b "$samples/before.tif" -a "$samples/after.tif" -m ndvi \
        -o "$work/out" --overwrite -q; then
    echo "FAIL: detect did not succeed"
    exit 1
fi
if "$geodelta" verify "$work/out/manifest.json" >/dev/null 2>"$work/clean.err"; then
    pass "verify of untouched outputs exits 0"
else
    failc "verify of untouched outputs exits non-zero: $(cat "$work/clean.err")"
fi

# 1. flip one byte in change.geojson (same size, different content)
cp -R "$work/out" "$work/flip"
size=$(wc -c <"$work/flip/change.geojson")
off=$((size / 2))
orig=$(dd if="$work/flip/change.geojson" bs=1 skip=$off count=1 2>/dev/null)
if [ "$orig" = "7" ]; then new=8; else new=7; fi
printf '%s' "$new" | dd of="$work/flip/change.geojson" bs=1 seek=$off count=1 conv=notrunc 2>/dev/null
if cmp -s "$work/out/change.geojson" "$work/flip/change.geojson"; then
    failc "could not alter change.geojson"
fi
"$geodelta" verify "$work/flip/manifest.json" >"$work/flip.out" 2>"$work/flip.err"
rc=$?
if [ $rc -ne 0 ] && grep -q "change.geojson" "$work/flip.err"; then
    pass "altered change.geojson: exit $rc, named on stderr"
else
    failc "altered change.geojson: exit $rc, stderr: $(cat "$work/flip.err")"
fi

# 2. delete map.png
cp -R "$work/out" "$work/del"
rm -f "$work/del/map.png"
"$geodelta" verify "$work/del/manifest.json" >"$work/del.out" 2>"$work/del.err"
rc=$?
if [ $rc -ne 0 ] && grep -q "map.png" "$work/del.err"; then
    pass "missing map.png: exit $rc, named on stderr"
else
    failc "missing map.png: exit $rc, stderr: $(cat "$work/del.err")"
fi

[ $fails -eq 0 ] || { echo "$fails case(s) failed"; exit 1; }
exit 0
