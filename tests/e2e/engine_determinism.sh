#!/usr/bin/env bash
# engine_determinism.sh: change.tif, change.geojson and map.png must be byte-identical for any
# thread count, ISA and score storage (memory or temporary file), on a plain and on a
# warped after image; the SAR decisions (FLICM, MRF) also when cut into 64-row tiles.
# usage: engine_determinism.sh GEODELTA GD_MAKE_SAMPLES WORKDIR
set -euo pipefail
gd="$1" make="$2" work="$3"
rm -rf "$work"
mkdir -p "$work"
"$make" "$work/s" --size 384 >/dev/null
# the same scene with a shifted origin: the after image goes through a warped VRT
gdal_translate -q -a_ullr 400005 5800003 403845 5796163 "$work/s/after.tif" "$work/s/after_off.tif"

fail=0
# 384 rows = two strips (256 + 128); every method on the plain pair, NDVI on the warp;
# urban on both: with --mem 1024 it keeps the inputs after its first pass, with --mem 1
# it reads them in each of its seven passes
for run in after:ndvi after:logratio after:cva after_off:ndvi after:urban after_off:urban; do
    after="${run%%:*}" method="${run##*:}"
    {
        ref=""
        # threads 1 / 2, default ISA / scalar, score in memory / in a file (--mem 1)
        # and SAR's FLICM/MRF on 64-row tiles (GEODELTA_TILE_ROWS) from a score in a file
        for cfg in "1 1024 default" "2 1024 default" "2 1 default" "2 1024 scalar" "2 1 tiles64"; do
            read -r threads mem isa <<<"$cfg"
            out="$work/o_${after}_${method}_${threads}_${mem}_${isa}"
            env_isa=()
            [[ "$isa" == scalar ]] && env_isa=(GEODELTA_ISA=scalar)
            [[ "$isa" == tiles64 ]] && env_isa=(GEODELTA_TILE_ROWS=64)
            env "${env_isa[@]}" "$gd" detect -q --map-width 320 -b "$work/s/before.tif" \
                -a "$work/s/$after.tif" -m "$method" -o "$out" --threads "$threads" --mem "$mem"
            sums="$(cd "$out" && cat change.tif change.geojson map.png | sha256sum)"
            if ls "$out"/score.tmp-* >/dev/null 2>&1; then
                echo "FAIL: temporary score left in $out"; fail=1
            fi
            if [[ -z "$ref" ]]; then
                ref="$sums"
            elif [[ "$sums" != "$ref" ]]; then
                echo "FAIL: $after $method threads=$threads mem=$mem isa=$isa differs"; fail=1
            fi
        done
        echo "ok: $after $method identical over 5 configurations"
    }
done
# the file path was really taken with --mem 1
grep -q '"score_storage": "file"' "$work/o_after_ndvi_2_1_default/manifest.json" ||
    { echo "FAIL: --mem 1 did not put the score in a file"; fail=1; }
grep -q '"tiles": 6' "$work/o_after_logratio_2_1_tiles64/manifest.json" ||
    { echo "FAIL: GEODELTA_TILE_ROWS=64 did not tile the SAR decisions"; fail=1; }
for m in 1 1024; do
    want="read again in each pass"
    [[ $m == 1024 ]] && want="kept in memory"
    grep -q "urban: inputs $want" "$work/o_after_off_urban_2_${m}_default/run.log" ||
        { echo "FAIL: urban with --mem $m: inputs not $want"; fail=1; }
done
# logratio's levels pass keeps both dates for the score pass: in memory, or in files
for m in 1 1024; do
    want="temporary files"
    [[ $m == 1024 ]] && want="memory"
    grep -q "inputs kept for the next pass in $want" "$work/o_after_logratio_2_${m}_default/run.log" ||
        { echo "FAIL: logratio with --mem $m: inputs not kept in $want"; fail=1; }
done
grep -q '"score_storage": "memory"' "$work/o_after_ndvi_2_1024_default/manifest.json" ||
    { echo "FAIL: --mem 1024 did not keep the score in memory"; fail=1; }
exit $fail
