#!/bin/sh
# sweep_urban.sh: on demand (not in ctest): urban on the ten OSCD cities for a list of
# settings; prints F1 per city and the mean F1 of each setting, then the leave-one-city-out
# figures: for each city, the setting with the best mean F1 on the other nine, scored on
# the city left out (the disclosed figure of a default chosen on these cities is that one,
# not the in-sample one); DEFAULT (a label of the list) names the current default.
#   tests/accuracy/sweep_urban.sh GEODELTA EVAL_CHANGE ../shared/data [outdir]
# SETTINGS: settings separated by ';', each "label=detect options", e.g.
#   SETTINGS='base=--urban-seed 0;obj=--urban-seed 2.5 --urban-object-px 20'
# (default: the grid of docs/methods/urban.md, "Variants"; the grid's twelve object
# settings are always added unless GRID=0; the band-set variants of issue 21 were run as
#   GRID=0 SETTINGS='re57_s0=--bands-before blue=2,green=3,red=4,nir=8,swir1=5,swir2=7 --smooth 0'
# with OSCD's band order, B05 = 5, B07 = 7). Results accumulate in
# OUTDIR/results.txt (one line per setting: label city=F1 ...); RESUME=1 keeps the lines
# already there and runs only the settings missing, so that two shells can share a grid.
set -eu
geodelta=$1 eval=$2 data=$3/oscd
out=${4:-${TMPDIR:-/tmp}/geodelta-sweep-urban}
CITIES="abudhabi beihai beirut bercy mumbai nantes paris pisa rennes saclay_e"
[ -d "$data" ] || { echo "no OSCD data at $data" >&2; exit 2; }
# a larger GDAL cache keeps the warped after images' blocks between runs' reads (urban
# itself warps once when the city fits --mem); the cache size does not change a pixel
export GDAL_CACHEMAX="${GDAL_CACHEMAX:-512}"
SETTINGS=${SETTINGS:-"base=--urban-seed 0;smooth3=--urban-seed 0 --smooth 3"}
[ "${GRID:-1}" = 0 ] || SETTINGS="$SETTINGS;$(for s in 0 3; do for f in 2 2.5 3; do
    printf 's%s_f%s_a20=--smooth %s --urban-seed %s --urban-object-px 20;' "$s" "$f" "$s" "$f"; done
    printf 's%s_f2.5_a30=--smooth %s --urban-seed 2.5 --urban-object-px 30;' "$s" "$s"; done)"
DEFAULT=${DEFAULT:-}
mkdir -p "$out"
results=$out/results.txt
[ "${RESUME:-0}" = 1 ] || : >"$results"

echo "$SETTINGS" | tr ';' '\n' | while IFS= read -r item; do
    [ -n "$item" ] || continue
    label=${item%%=*} opts=${item#*=}
    if grep -q "^$label " "$results" 2>/dev/null; then continue; fi
    line=$label
    for c in $CITIES; do
        o=$out/run.$label
        # shellcheck disable=SC2086 # opts is a list of options
        if "$geodelta" detect -b "$data/$c/t1.tif" -a "$data/$c/t2.tif" -m urban -o "$o" \
                --overwrite --no-map -q $opts >/dev/null 2>&1; then
            f=$("$eval" "$o/change.tif" "$data/$c/gt.tif" --gt-change-min 1 |
                awk '{for (i = 1; i < NF; i++) if ($i == "F1") print $(i + 1)}')
        else
            f=fail
        fi
        line="$line $c=$f"
    done
    rm -rf "$out/run.$label"
    echo "$line" | awk '{ s = 0; for (i = 2; i <= NF; i++) { split($i, a, "="); s += a[2] }
        printf "%s mean=%.4f\n", $0, s / (NF - 1) }' | tee -a "$results"
done
echo "---- ranked by mean F1; all rows in $results"
sort -t= -k"$(echo "$CITIES" | wc -w | awk '{print $1 + 2}')" -gr "$results" 2>/dev/null |
    awk '{print $1, $NF}' | sort -k2 -t= -gr | head -20
echo "---- leave one city out (setting chosen by mean F1 on the other nine)"
awk -v cities="$CITIES" -v def="$DEFAULT" '
BEGIN { nc = split(cities, C, " ") }
{
    rows[NR] = $1
    for (i = 2; i <= NF; i++) { split($i, a, "="); F[NR, a[1]] = a[2] }
    if ($1 == def) d = NR
}
END {
    tot = 0; tin = 0
    for (j = 1; j <= nc; j++) {
        best = 0; bm = -1
        for (r = 1; r <= NR; r++) {
            s = 0; for (q = 1; q <= nc; q++) if (q != j) s += F[r, C[q]]
            if (s > bm) { bm = s; best = r }
        }
        tot += F[best, C[j]]
        printf "%-10s held-out F1 %.4f (chosen: %s, mean on the others %.4f)", C[j],
               F[best, C[j]], rows[best], bm / (nc - 1)
        if (d) { printf "  in-sample default %.4f", F[d, C[j]]; tin += F[d, C[j]] }
        printf "\n"
    }
    printf "leave-one-city-out mean F1 %.4f", tot / nc
    if (d) printf " (in-sample default %.4f)", tin / nc
    printf "\n"
}' "$results"
