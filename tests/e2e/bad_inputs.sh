#!/bin/sh
# bad_inputs.sh: the rest of the bad-input catalogue (see errors.sh for the first part):
# truncated and corrupt-header rasters, zero-sized rasters, all-nodata overlap, NaN/Inf
# pixels, bad band indices, a full output folder and --overwrite semantics.
#   bad_inputs.sh GEODELTA SAMPLES_DIR WORKDIR MAKE_BAD_INPUTS
set -u
G=$1 S=$2 W=$3 MKBAD=$4
rm -rf "$W"
mkdir -p "$W"
fails=0
n=0
. "$(dirname "$0")/expect.sh"

B="$S/before.tif" A="$S/after.tif"

# ---- fixtures (make_bad_inputs.c) --------------------------------------------------------
mkdir -p "$W/bad"
"$MKBAD" "$S" "$W/bad" || { echo "FAIL: cannot make the bad inputs"; exit 1; }
echo '<VRTDataset rasterXSize="0" rasterYSize="10"><VRTRasterBand dataType="Byte" band="1"/></VRTDataset>' >"$W/bad/zero.vrt"

# ---- cases -------------------------------------------------------------------------------
expect "truncated GeoTIFF (first half of after.tif)" 2 "$W/bad/truncated.tif truncated" -- detect -b "$B" -a "$W/bad/truncated.tif" -m ndvi -o OUT
expect "header claims 1000000x1000000x13" 2 "$W/bad/huge.tif 1000000x1000000 corrupt" -- detect -b "$W/bad/huge.tif" -a "$A" -m ndvi -o OUT
expect "header claims 2e9x4 (no room for one strip)" 3 "$W/bad/wide.tif MiB" -- detect -q -b "$W/bad/wide.tif" -a "$W/bad/wide.tif" -m logratio -o OUT
# found by fuzz_raster: GDAL 3.6 loops for ever transforming this origin to WGS84
expect "origin at -3.4e125 m (corrupt georeferencing)" 2 "merc-origin-1e125.tif implausible" -- detect -b "$(dirname "$0")/../fuzz/corpus/raster/merc-origin-1e125.tif" -a "$A" -m ndvi -o OUT
expect "zero-sized TIFF" 2 "$W/bad/zero.tif" -- detect -b "$B" -a "$W/bad/zero.tif" -m ndvi -o OUT
expect "zero-sized VRT" 2 "$W/bad/zero.vrt" -- detect -b "$W/bad/zero.vrt" -a "$A" -m ndvi -o OUT
expect "overlap all nodata" 2 "$W/bad/allnodata.tif nodata" -- detect -b "$B" -a "$W/bad/allnodata.tif" -m ndvi --coreg none -o OUT
expect "--bands-before band beyond the image" 1 "--bands-before 9 $B" -- detect -b "$B" -a "$A" -m ndvi --bands-before red=9,nir=4 -o OUT
expect "--bands-after band 0" 1 "--bands-after 0" -- detect -b "$B" -a "$A" -m ndvi --bands-before red=3,nir=4 --bands-after red=0,nir=4 -o OUT
expect "--bands-before band -1" 1 "--bands-before -1" -- detect -b "$B" -a "$A" -m ndvi --bands-before red=-1,nir=4 -o OUT
expect "--bands-before huge band" 1 "--bands-before 99999999999999999999" -- detect -b "$B" -a "$A" -m ndvi --bands-before red=99999999999999999999,nir=4 -o OUT

# NaN, +-Inf and +-FLT_MAX pixels: a normal run, Inf is nodata, nothing non-finite written
for m in ndvi cva ndwi logratio; do
    for side in before after; do
        out="$W/naninf.$m.$side"
        rm -rf "$out"
        if [ $side = before ]; then bi="$W/bad/naninf.tif" ai="$A"; else bi="$B" ai="$W/bad/naninf.tif"; fi
        extra=""
        [ $m = logratio ] && extra="--bands-before sar=1"
        # shellcheck disable=SC2086
        if ! "$G" detect -b "$bi" -a "$ai" -m $m -o "$out" -q --no-map $extra 2>"$W/naninf.err"; then
            echo "FAIL: NaN/Inf pixels ($m, $side): $(cat "$W/naninf.err")"
            fails=$((fails + 1))
        elif grep -q -i -E '(^|[^a-z_])(nan|inf|infinity)([^a-z_]|$)' "$out/change.geojson" "$out/summary.json"; then
            echo "FAIL: NaN/Inf pixels ($m, $side): a non-finite number in the outputs"
            fails=$((fails + 1))
        elif ! "$G" verify "$out/manifest.json" >/dev/null 2>&1; then
            echo "FAIL: NaN/Inf pixels ($m, $side): verify fails"
            fails=$((fails + 1))
        else
            echo "PASS: NaN/Inf pixels ($m, $side)"
        fi
    done
done

# a full output folder: a 64 KiB tmpfs (needs root and mount permission)
FULL="$W/full"
mkdir -p "$FULL"
if mount -t tmpfs -o size=64k tmpfs "$FULL" 2>"$W/mount.err"; then
    expect "full output folder (64 KiB tmpfs)" 4 "$FULL/out space" -- detect -b "$B" -a "$A" -m ndvi -o "$FULL/out"
    for f in "$FULL"/out/*; do
        case $f in
        */change.tif) gdalinfo -checksum "$f" >/dev/null 2>&1 || { echo "FAIL: full disk: partial $f"; fails=$((fails + 1)); } ;;
        */change.geojson | */summary.json) jq -e . "$f" >/dev/null 2>&1 || { echo "FAIL: full disk: partial $f"; fails=$((fails + 1)); } ;;
        esac
    done
    umount "$FULL"
else
    echo "SKIP: full output folder: cannot mount a tmpfs ($(head -n 1 "$W/mount.err"))"
fi

# --overwrite: a rerun that fails leaves no manifest; earlier outputs it does not write
# again (map.png with --no-map, score.tif without --keep-score) are gone
OW="$W/overwrite"
if "$G" detect -b "$B" -a "$A" -m ndvi -o "$OW" -q --keep-score; then
    expect "--overwrite with a bad input" 2 "$W/bad/truncated.tif" -- detect -b "$B" -a "$W/bad/truncated.tif" -m ndvi -o "$OW" --overwrite
    if "$G" detect -b "$B" -a "$A" -m ndvi -o "$OW" -q --overwrite --no-map &&
       [ ! -e "$OW/map.png" ] && [ ! -e "$OW/score.tif" ] &&
       "$G" verify "$OW/manifest.json" >/dev/null 2>&1 &&
       ! grep -q -E '"(map.png|score.tif)"' "$OW/manifest.json"; then
        echo "PASS: --overwrite replaces every earlier output"
    else
        echo "FAIL: --overwrite left stale outputs or an unverifiable manifest"
        ls -la "$OW" | sed 's/^/      /'
        fails=$((fails + 1))
    fi
else
    echo "FAIL: --overwrite: the first detect run failed"
    fails=$((fails + 1))
fi

expect_summary "bad-input"
