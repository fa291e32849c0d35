#!/bin/sh
# run_eval.sh: monitor vs pairwise detect on the synthetic stack, and monitor vs BayTS on
# the Bolivia stack; prints one line per run (docs/monitor-accuracy.md) and fails when a
# figure misses a floor given in the environment (FLOOR_SYN_NDVI, FLOOR_SYN_BOTH,
# FLOOR_SYN_NDVI_MMU, FLOOR_SYN_BOTH_MMU, FLOOR_BOL_NDVI, FLOOR_BOL_VV, FLOOR_BOL_BOTH,
# FLOOR_BOL_UNION: options of
# gd_monitor_eval such as "--min-detect 90 --max-fa 60"). Exit 77: Bolivia data absent.
#   run_eval.sh GEODELTA GEN EVAL OUTDIR [SHARED_DATA] [synth|bolivia|all]
# Monitor options for every run can be added with MONITOR_OPTS="--confirm 1 ...".
# shellcheck disable=SC2086 # option lists ($common, floors, MONITOR_OPTS) split on purpose
set -eu
G=$1 GEN=$2 EV=$3 OUT=$4 SHARED=${5:-} WHAT=${6:-all}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
MONITOR_OPTS=${MONITOR_OPTS:-}
ROWS="$OUT/rows.txt"
: >"$ROWS"
: >"$OUT/eval.log"

FAIL=0
score() { # NAME ARGS...: one eval line, kept for the summary; a missed floor fails the run
    name=$1
    shift
    "$EV" "$@" --name "$name" >"$OUT/score.tmp" || FAIL=1
    grep -v '^ROW|' "$OUT/score.tmp" | tee -a "$OUT/eval.log"
    grep '^ROW|' "$OUT/score.tmp" >>"$ROWS"
}

detect() { # BEFORE AFTER METHOD OUTDIR
    "$G" detect -b "$1" -a "$2" -m "$3" -o "$4" --coreg none --no-map --without all -q \
        --overwrite
}

# pairwise: first vs last, and each consecutive pair whose later date is monitored
pairwise() { # LIST METHOD TAG START(YYYY-MM-DD)
    list=$1 method=$2 tag=$3 start=$4
    dir=$(dirname "$list")
    first=$(head -n 1 "$list" | cut -d' ' -f2)
    lastd=$(tail -n 1 "$list" | cut -d' ' -f1)
    last=$(tail -n 1 "$list" | cut -d' ' -f2)
    detect "$dir/$first" "$dir/$last" "$method" "$OUT/pw_${tag}_firstlast"
    echo "$(echo "$lastd" | tr -d -) $OUT/pw_${tag}_firstlast/change.tif" >"$OUT/pw_${tag}_firstlast.pairs"
    : >"$OUT/pw_${tag}_consecutive.pairs"
    prev=""
    while read -r d p; do
        if [ -n "$prev" ] && [ "$(echo "$d" | tr -d -)" -ge "$(echo "$start" | tr -d -)" ]; then
            o="$OUT/pw_${tag}_pairs/$d"
            # a pair without common valid pixels (a fully cloudy date) is an analysis date
            # with no alarm: detect refuses it (exit 2)
            if detect "$dir/$prev" "$dir/$p" "$method" "$o" 2>>"$OUT/detect_refused.log"; then
                echo "$(echo "$d" | tr -d -) $o/change.tif" >>"$OUT/pw_${tag}_consecutive.pairs"
            else
                echo "$(echo "$d" | tr -d -) none" >>"$OUT/pw_${tag}_consecutive.pairs"
            fi
        fi
        prev=$p
    done <"$list"
}

monitored_dates() { # START LIST...: distinct dates >= START over the lists
    start=$1
    shift
    cat "$@" | awk -v s="$start" '$1 >= s {print $1}' | sort -u | wc -l
}

if [ "$WHAT" = synth ] || [ "$WHAT" = all ]; then
    S="$OUT/stack"
    [ -f "$S/truth.tif" ] || "$GEN" "$S" >/dev/null
    common="--truth $S/truth.tif --nuisance $S/nuisance.tif --start 20200101 --end 20201231"
    pairwise "$S/rn.list" ndvi opt 2020-01-01
    pairwise "$S/sar.list" logratio sar 2020-01-01
    for t in opt sar; do
        score "pairwise $t first-last" synth $common --pairs "$OUT/pw_${t}_firstlast.pairs"
        score "pairwise $t consecutive" synth $common --pairs "$OUT/pw_${t}_consecutive.pairs"
    done
    "$G" monitor --stack "$S/ndvi.list" -m value -o "$OUT/mon_ndvi" --start 2020-01-01 -q $MONITOR_OPTS
    "$G" monitor --stack "$S/sar.list" -m sar -o "$OUT/mon_sar" --start 2020-01-01 -q $MONITOR_OPTS
    "$G" monitor --stack "$S/ndvi.list" -m value --stack "$S/sar.list" -m sar -o "$OUT/mon_both" \
        --start 2020-01-01 -q $MONITOR_OPTS
    n_opt=$(monitored_dates 2020-01-01 "$S/ndvi.list")
    n_sar=$(monitored_dates 2020-01-01 "$S/sar.list")
    n_both=$(monitored_dates 2020-01-01 "$S/ndvi.list" "$S/sar.list")
    mmu() { # KIND NDATES FLOORS...
        k=$1 nd=$2
        shift 2
        score "monitor $k, alerts >= 10 px (detect's 0.1 ha)" synth $common \
            --alert-date "$OUT/mon_$k/alert_date.tif" --ndates "$nd" --mmu-px 10 "$@"
    }
    mmu ndvi "$n_opt" ${FLOOR_SYN_NDVI_MMU:-}
    mmu sar "$n_sar"
    mmu both "$n_both" ${FLOOR_SYN_BOTH_MMU:-}
    score "monitor value (NDVI)" synth $common --alert-date "$OUT/mon_ndvi/alert_date.tif" \
        --ndates "$n_opt" ${FLOOR_SYN_NDVI:-}
    score "monitor sar (VV)" synth $common --alert-date "$OUT/mon_sar/alert_date.tif" \
        --ndates "$n_sar"
    score "monitor NDVI + VV" synth $common --alert-date "$OUT/mon_both/alert_date.tif" \
        --ndates "$n_both" ${FLOOR_SYN_BOTH:-}
fi

if [ "$WHAT" = bolivia ] || [ "$WHAT" = all ]; then
    B="$SHARED/timeseries/bolivia_bayts"
    if [ ! -d "$B" ]; then
        echo "run_eval: $B absent, Bolivia skipped"
        [ "$WHAT" = bolivia ] && exit 77
    else
        # lists with absolute paths (the file name holds the date)
        for k in ndvi s1vv; do
            for f in "$B/$k"/*.tif; do
                echo "$(basename "$f" | cut -c1-10) $f"
            done >"$OUT/bolivia_$k.list"
        done
        # the reference on the series grid by mode (as the data README scores BayTS)
        gdalwarp -q -overwrite -r mode -t_srs EPSG:32720 -te 594555 8000065 597555 8003065 \
            -ts 100 100 "$B/hansen_lossyear.tif" "$OUT/hansen_on_grid.tif"
        ref="--ref $OUT/hansen_on_grid.tif --year-value 16 --from 20160101"
        bayts="--compare $B/anchor_bayts_result.tif --compare-kind decyear --compare-band 3"
        score "BayTS (published result)" year $ref --pred "$B/anchor_bayts_result.tif" \
            --pred-kind decyear --band 3
        "$G" monitor --stack "$OUT/bolivia_ndvi.list" -m value -o "$OUT/bol_ndvi" \
            --start 2016-01-01 -q $MONITOR_OPTS
        "$G" monitor --stack "$OUT/bolivia_s1vv.list" -m sar -o "$OUT/bol_vv" \
            --start 2016-01-01 -q $MONITOR_OPTS
        "$G" monitor --stack "$OUT/bolivia_ndvi.list" -m value --stack "$OUT/bolivia_s1vv.list" \
            -m sar -o "$OUT/bol_both" --start 2016-01-01 -q $MONITOR_OPTS
        # the S1 dates of this stack are multi-looked far beyond one GRD look: the ENL is the
        # median over pixels of mean^2 / variance of the baseline (docs/monitor-accuracy.md)
        enl=$("$EV" enl --list "$OUT/bolivia_s1vv.list" --before 20160101 2>>"$OUT/eval.log")
        echo "Bolivia VV baseline ENL: $enl" | tee -a "$OUT/eval.log"
        "$G" monitor --stack "$OUT/bolivia_s1vv.list" -m sar --enl "$enl" -o "$OUT/bol_vv_enl" \
            --start 2016-01-01 -q $MONITOR_OPTS
        "$G" monitor --stack "$OUT/bolivia_ndvi.list" -m value --stack "$OUT/bolivia_s1vv.list" \
            -m sar --enl "$enl" -o "$OUT/bol_both_enl" --start 2016-01-01 -q $MONITOR_OPTS
        score "monitor VV --enl $enl" year $ref --pred "$OUT/bol_vv_enl/alert_date.tif" $bayts
        score "monitor NDVI + VV --enl $enl" year $ref \
            --pred "$OUT/bol_both_enl/alert_date.tif" $bayts
        score "NDVI and VV --enl $enl confirmed separately, earlier wins" year $ref \
            --pred "$OUT/bol_ndvi/alert_date.tif" --pred2 "$OUT/bol_vv_enl/alert_date.tif" $bayts \
            ${FLOOR_BOL_UNION:-}
        score "monitor NDVI" year $ref --pred "$OUT/bol_ndvi/alert_date.tif" $bayts ${FLOOR_BOL_NDVI:-}
        score "monitor VV" year $ref --pred "$OUT/bol_vv/alert_date.tif" $bayts ${FLOOR_BOL_VV:-}
        score "monitor NDVI + VV" year $ref --pred "$OUT/bol_both/alert_date.tif" $bayts ${FLOOR_BOL_BOTH:-}
    fi
fi
echo "run_eval: rows in $ROWS"
exit "$FAIL"
