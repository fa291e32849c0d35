#!/bin/sh
# golden.sh: pins, per method and main option, the run id and the SHA-256 of change.tif,
# change.geojson and summary.json (tests/golden/cases.tsv) against tests/golden/hashes.tsv.
#   golden.sh GEODELTA SAMPLES SWIR_SAMPLES DATA OUTDIR [--update]
# Inputs are passed relative to their folder so the hashes do not depend on the checkout
# path. A pair of ../shared/data (DATA) that is absent is skipped with a message; a case
# whose hashes differ fails the test with the differing files named. --update rewrites
# hashes.tsv (only after a change of results made on purpose, listed in the commit).
set -u
geodelta=$1 samples=$2 swir=$3 data=$4 out=$5 update=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
expected=$here/hashes.tsv
got=$out/hashes.tsv
mkdir -p "$out"
: > "$got"
fail=0 skipped=0
tab=$(printf '\t')
while IFS="$tab" read -r name set opts; do
    case "$name" in ''|'#'*) continue ;; esac
    case "$set" in
        samples) dir=$samples b=before.tif a=after.tif ;;
        swir) dir=$swir b=before.tif a=after.tif ;;
        *) dir=$data/$set b=$(cd "$dir" 2>/dev/null && ls t1.* | head -1) a=$(cd "$dir" 2>/dev/null && ls t2.* | head -1) ;;
    esac
    if [ ! -d "$dir" ]; then
        echo "SKIP $name: $dir is absent"
        skipped=$((skipped + 1))
        continue
    fi
    o=$out/$name
    rm -rf "$o"
    # shellcheck disable=SC2086 # opts is a list of options
    if ! (cd "$dir" && "$geodelta" detect -b "$b" -a "$a" -o "$o" -q $opts); then
        echo "FAIL $name: detect failed"
        fail=1
        continue
    fi
    rid=$(sed -n 's/^ *"run_id": *"\([0-9a-f]*\)".*/\1/p' "$o/manifest.json" | head -1)
    line="$name$tab$rid"
    for f in change.tif change.geojson summary.json; do
        line="$line$tab$(sha256sum "$o/$f" | cut -c1-64)"
    done
    echo "$line" >> "$got"
done < "$here/cases.tsv"

if [ "$update" = "--update" ]; then
    { echo "# name	run_id	change.tif	change.geojson	summary.json (golden.sh --update)"
      cat "$got"; } > "$expected"
    echo "wrote $expected"
    exit $fail
fi
while IFS="$tab" read -r name rid tif gj sj; do
    want=$(grep "^$name$tab" "$expected" || true)
    if [ -z "$want" ]; then
        echo "FAIL $name: not in hashes.tsv"
        fail=1
        continue
    fi
    i=2
    for f in run_id change.tif change.geojson summary.json; do
        w=$(echo "$want" | cut -f$i)
        g=$(printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rid" "$tif" "$gj" "$sj" | cut -f$i)
        [ "$w" = "$g" ] || { echo "FAIL $name: $f differs (want $w, got $g)"; fail=1; }
        i=$((i + 1))
    done
done < "$got"
n=$(wc -l < "$got")
[ $fail -eq 0 ] && echo "PASS: golden, $n cases identical ($skipped skipped)"
exit $fail
