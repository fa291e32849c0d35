#!/bin/sh
# intervals.sh: on demand (not in ctest): reruns the case of each row of docs/accuracy.csv
# and writes its 95 % spatial block-bootstrap interval of PCC, kappa and F1 (eval_change
# --bootstrap, BLOCK x BLOCK px blocks, RESAMPLES resamples, percentile interval) into the
# row's pcc_lo..f1_hi, ci_block and ci_resamples columns (gd_accuracy_gen set). The
# figures themselves are not rewritten: a rerun that differs from the row's figure by more
# than the CSV's rounding is printed as MISMATCH (and the interval is still written; the
# CSV check then refuses a figure outside its interval; UPDATE_FIGURES=1 writes the rerun's
# figures, to 4 decimals, in their place). Mean rows (oscd.mean.*): each
# resample is the mean over the ten cities of one block resample per city (a stratified
# bootstrap; each city its own seed), so the interval is that of the mean F1.
#   tests/accuracy/intervals.sh GEODELTA EVAL_CHANGE GD_ACCURACY_GEN GD_MAKE_SAMPLES \
#       docs/accuracy.csv ../shared/data OUTDIR [ID...]
# Without IDs every row of the table below. BLOCK (32) and RESAMPLES (1000) from the
# environment.
set -eu
geodelta=$1 eval=$2 gen=$3 mksamples=$4 csv=$5 data=$6 out=$7
shift 7
BLOCK=${BLOCK:-32}
RESAMPLES=${RESAMPLES:-1000}
CITIES="abudhabi beihai beirut bercy mumbai nantes paris pisa rennes saclay_e"
[ -d "$data" ] || { echo "no data at $data" >&2; exit 2; }
# a larger GDAL cache keeps the warped after images' blocks between the methods' reads;
# the cache size does not change a pixel
export GDAL_CACHEMAX="${GDAL_CACHEMAX:-512}"
mkdir -p "$out/dump"

# id | inputs (sar/NAME, landsat/NAME, oscd/NAME, samples, swir) | method | eval_change
# options | detect options. The same runs as tests/accuracy/CMakeLists.txt and
# tests/e2e/CMakeLists.txt register (rows without a test: the setting of their row).
cases() {
    for p in bern ottawa sulzberger yellow_river_a yellow_river_c; do
        echo "sar.$p|sar/$p|logratio|--gt-change-min 128|--mmu-px 10"
        echo "sar.$p.pcakmeans|sar/$p|pcakmeans|--gt-change-min 128|--mmu-px 10"
        # the baselines without a minimum mapping unit (as accuracy.sar.ottawa.{celik,raw})
        echo "sar.$p.celik|sar/$p|pcakmeans|--gt-change-min 128|--speckle none --pca-block 5 --mrf-beta 0"
        echo "sar.$p.raw|sar/$p|logratio|--gt-change-min 128|--speckle none --smooth 0 --mrf-beta 0 --sar-decision threshold"
    done
    for s in taizhou nanjing; do
        for m in cva irmad urban; do
            echo "landsat.$s.$m|landsat/$s|$m|--gt-change-min 1 --gt-ignore 255|"
        done
    done
    for c in $CITIES; do
        echo "oscd.$c|oscd/$c|cva|--gt-change-min 1|"
        echo "oscd.urban.$c|oscd/$c|urban|--gt-change-min 1|"
        echo "oscd.cva_ki.$c|oscd/$c|cva|--gt-change-min 1|-t ki"
    done
    echo "synthetic.nbr.usgs|swir|nbr|--gt-change-min 1 --gt-change-max 1 --change-max 4|"
    echo "synthetic.nbr.binary|swir|nbr|--gt-change-min 1 --gt-change-max 1 --change-max 2|--nbr-classes binary"
    echo "synthetic.ndmi|swir|ndmi|--gt-change-min 1 --gt-change-max 1 --change-max 1|"
    echo "synthetic.flood.mndwi|swir|flood|--gt-change-min 2 --gt-change-max 2 --change-max 1|"
    echo "synthetic.flood.ndwi|samples|flood|--gt-change-min 2 --gt-change-max 2 --change-max 1|"
    for p in bern yellow_river_a; do
        echo "sar.$p.flood|sar/$p|flood|--gt-change-min 128 --change-max 1|"
        echo "sar.$p.flood.ratio|sar/$p|flood|--gt-change-min 128 --change-max 1|--flood-rule ratio"
    done
}

# the per-city rows behind each mean row
means() {
    echo "oscd.mean.cva oscd"
    echo "oscd.mean.cva_ki oscd.cva_ki"
    echo "oscd.mean.urban oscd.urban"
}

want() { # id: asked for (no IDs = all)
    [ $# -gt 1 ] || return 0
    id=$1
    shift
    for w in "$@"; do [ "$w" = "$id" ] && return 0; done
    return 1
}

inputs() { # set -> "before after truth"
    case $1 in
        samples|swir)
            d=$out/$1
            if [ ! -f "$d/truth.tif" ]; then
                if [ "$1" = swir ]; then "$mksamples" "$d" --size 512 --swir >/dev/null
                else "$mksamples" "$d" --size 512 >/dev/null; fi
            fi
            echo "$d/before.tif $d/after.tif $d/truth.tif" ;;
        *)
            d=$data/$1
            echo "$(ls "$d"/t1.* | head -1) $(ls "$d"/t2.* | head -1) $(ls "$d"/gt.* | head -1)" ;;
    esac
}

close() { # a b: |a - b| <= 0.0005 + half a unit of b's last digit
    awk -v a="$1" -v b="$2" 'BEGIN { d = b; sub(/^-/, "", d); n = split(d, p, ".");
        u = n > 1 ? 0.5 * 10 ^ -length(p[2]) : 0.5; x = a - b; if (x < 0) x = -x;
        exit !(x <= u + 1e-9) }'
}

seed=20261206
cases | while IFS='|' read -r id set method evalopts opts; do
    seed=$((seed + 1))
    want "$id" "$@" || continue
    # shellcheck disable=SC2046 # inputs prints three paths
    set -- "$id" $(inputs "$set") "$@"
    b=$2 a=$3 gt=$4
    shift 4
    o=$out/run/$id
    # shellcheck disable=SC2086 # option lists
    if ! "$geodelta" detect -b "$b" -a "$a" -m "$method" -o "$o" --overwrite --no-map -q \
            $opts >"$out/run.log" 2>&1; then
        echo "FAIL $id: detect failed"; cat "$out/run.log"; continue
    fi
    # shellcheck disable=SC2086
    res=$("$eval" "$o/change.tif" "$gt" --name "$id" $evalopts --bootstrap "$RESAMPLES" \
        --block "$BLOCK" --seed "$seed" --dump "$out/dump/$id.txt")
    echo "$res"
    set -- $(echo "$res" | awk 'NR == 1 { print $3, $5, $7 }
        NR == 2 { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.-]+-[0-9.-]+$/) {
                      s = $i; sub(/^-/, "~", s); n = split(s, r, "-"); sub(/^~/, "-", r[1])
                      printf " %s %s", r[1], (n == 3 ? "-" r[3] : r[2]) } }') "$@"
    pcc=$1 kappa=$2 f1=$3 plo=$4 phi=$5 klo=$6 khi=$7 flo=$8 fhi=$9
    shift 9
    rowfig() { "$gen" get "$csv" "$id" "$1" 2>/dev/null || echo "?"; }
    if ! "$gen" get "$csv" "$id" id >/dev/null 2>&1; then
        echo "  (no row $id in the CSV: per-city run for a mean row)"
        continue
    fi
    for m in pcc kappa f1; do
        eval "v=\$$m"
        r=$(rowfig "$m")
        # shellcheck disable=SC2154 # v set by eval
        if [ -n "$r" ] && ! close "$v" "$r"; then
            echo "  MISMATCH $id $m: rerun $v, CSV $r"
        fi
    done
    figs=""
    if [ "${UPDATE_FIGURES:-0}" = 1 ]; then figs="pcc=$pcc kappa=$kappa f1=$f1"; fi
    # shellcheck disable=SC2086 # figs is a list of COLUMN=VALUE words
    "$gen" set "$csv" "$id" $figs "pcc_lo=$plo" "pcc_hi=$phi" "kappa_lo=$klo" "kappa_hi=$khi" \
        "f1_lo=$flo" "f1_hi=$fhi" "ci_block=$BLOCK" "ci_resamples=$RESAMPLES" ||
        echo "  FAIL $id: the CSV refused the interval"
done

# the mean rows from the per-city dumps
means | while read -r id prefix; do
    want "$id" "$@" || continue
    files=""
    for c in $CITIES; do
        f=$out/dump/$prefix.$c.txt
        [ -f "$f" ] || { echo "SKIP $id: no resamples of $prefix.$c (run it first)"; files=""; break; }
        files="$files $f"
    done
    [ -n "$files" ] || continue
    # shellcheck disable=SC2086
    ci=$(paste -d' ' $files | awk -v n=10 '{ s = 0; for (i = 3; i <= NF; i += 3) s += $i; print s / n }' |
        sort -g | awk '{ v[NR] = $1 } END { lo = int(0.025 * (NR - 1)); hi = 0.975 * (NR - 1);
            hi = hi == int(hi) ? hi : int(hi) + 1; printf "%.4f %.4f\n", v[lo + 1], v[hi + 1] }')
    echo "$id mean F1 95% CI (stratified block bootstrap over the 10 cities): $ci"
    lo=${ci% *} hi=${ci#* }
    "$gen" set "$csv" "$id" "f1_lo=$lo" "f1_hi=$hi" "ci_block=$BLOCK" "ci_resamples=$RESAMPLES" ||
        echo "  FAIL $id: the CSV refused the interval"
done
