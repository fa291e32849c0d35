#!/bin/bash
# monitor_dualpol.sh: `geodelta monitor -m sar --pol vv,vh` (dual polarisation) end to end
# on synthetic stacks of monitor_eval's generator (gd_monitor_gen --dual: VV, VH and the
# two-band VV+VH stack of the same dates and speckle), with e2e.monitor's SAR scene
# (48 x 40 pixels of 20 m, 36 dates every 12 days, a 16 x 16 patch cleared on 2020-12-02,
# 4.4 looks, on a Web Mercator grid of 25 m):
#   s  e2e.monitor's SAR: VV -7.5 -> -17 dB, VH -14 -> -20 dB
#   m  a smaller VV drop: VV -7.5 -> -12.5 dB, VH -14 -> -20 dB
#   monitor_dualpol.sh GEODELTA GEN_STACK WORKDIR
# Checks:
#   gen       --dual leaves the VV and optical stacks as they are without it (cmp)
#   detect    VV alone, VH alone, VV+VH (--enl 4.4 and auto) on each scene: the dual-pol
#             run alerts at least as many patch pixels on their first observation after
#             the change as VV alone and as VH alone, with confirmed false alarms on at
#             most 1 % of stable pixels; on s it passes gen_stack check (>= 90 %); the
#             numbers are printed (docs/monitor.md's table)
#   same      --pol vv equals the default (band VV) run, byte for byte
#   bands     two-band VRTs without band descriptions: --pol vv,vh reads bands 1, 2 (the
#             outputs equal the described stack's); --pol vh reads band 2 (= VH alone);
#             --pol vh --bands vh=1 reads band 1 (= VV alone)
#   append    35 dates then the 36th: the incremental run equals the full one; verify
#   bad       --pol vv,vh on one-band images: exit 2 naming the band; --pol without a sar
#             stack, --pol with --stac, an unknown --pol: exit 1
set -u
G=$1 MK=$2 W=$3
rm -rf "$W"
mkdir -p "$W"
fails=0
pass() { echo "PASS: $1"; }
failc() { echo "FAIL: $1"; fails=$((fails + 1)); }
START=2020-08-28
gen() { # gen DIR CLEARED_VV CLEARED_VH [--dual]
    d=$1 vv=$2 vh=$3
    shift 3
    "$MK" "$d" --size 48x40 --pixel 20 --srs 32633 --origin 500000,4600000 \
        --opt 2020-01-01,12,36 --sar 2020-01-02,12,36 --start 2020-08-28 --changes 0 \
        --patch 14,10,30,26,2020-12-02 --fields 0 --nuisance 0 --season 0 --cleared-ndvi 0.25 \
        --cleared-db "$vv" --cleared-vh-db "$vh" --cloud-max 0.3 --sar-srs 3857 --sar-pixel 25 \
        --sar-db "$@" >/dev/null
}
gen "$W/s" -17 -20 --dual && gen "$W/m" -12.5 -20 --dual && gen "$W/s1" -17 -20 ||
    { echo "FAIL: cannot make the stacks"; exit 1; }

# ---- gen ----
same=1
for f in $(cd "$W/s1" && ls sar/*.tif ndvi/*.tif rn/*.tif truth.tif truth_sar.tif sar.list); do
    cmp -s "$W/s/$f" "$W/s1/$f" || { same=0; echo "differs: $f"; }
done
[ $same = 1 ] && pass "gen --dual leaves the other stacks unchanged" ||
    failc "gen --dual changed the VV or optical stacks"

# ---- detect ----
# field of gen_stack check's line: first-observation hits, false alarms, delay
num() { sed -n "s/.*$1.*/\\1/p"; }
for sc in s m; do
    for enl in 4.4 auto; do
        for run in vv vh dual; do
            case $run in
            vv) list=sar.list opt= ;;
            vh) list=sar_vh.list opt= ;;
            dual) list=sar2.list opt="--pol vv,vh" ;;
            esac
            o="$W/$sc-$enl-$run"
            # shellcheck disable=SC2086
            "$G" monitor --stack "$W/$sc/$list" -m sar --direction decrease -o "$o" \
                --start $START -q --enl $enl $opt || failc "$sc $enl $run: exit $?"
            line=$("$MK" check "$W/$sc" "$o/alert_date.tif" "$W/$sc/$list" 2>/dev/null)
            hit=$(echo "$line" | num 'change \([0-9]*\) (')
            pct=$(echo "$line" | num '(\([0-9.]*\) %)')
            fa=$(echo "$line" | num 'false alarms \([0-9]*\);')
            dl=$(echo "$line" | num 'mean delay \([0-9.]*\) d')
            en=$(grep -o 'ENL.*estimated' "$o/run.log" | sed 's/ estimated//')
            echo "RESULT scene $sc enl $enl $run: first-observation detection $hit/306 ($pct %)," \
                "confirmed false alarms $fa/2814, mean delay $dl d ${en:+($en)}"
            eval "hit_$run=${hit:-0} fa_$run=${fa:-9999}"
        done
        # shellcheck disable=SC2154
        if [ "$hit_dual" -ge "$hit_vv" ] && [ "$hit_dual" -ge "$hit_vh" ] && [ "$fa_dual" -le 28 ]; then
            pass "$sc enl $enl: VV+VH detects $hit_dual (VV $hit_vv, VH $hit_vh), $fa_dual false alarms"
        else
            failc "$sc enl $enl: VV+VH $hit_dual / $fa_dual fa vs VV $hit_vv, VH $hit_vh"
        fi
    done
done
"$MK" check "$W/s" "$W/s-4.4-dual/alert_date.tif" "$W/s/sar2.list" >/dev/null &&
    pass "s: VV+VH passes gen_stack check" || failc "s: VV+VH fails gen_stack check"
grep -q '"pol": "vv,vh"' "$W/s-auto-dual/manifest.json" &&
    grep -q '"enl": \[' "$W/s-auto-dual/manifest.json" &&
    pass "manifest records pol and both ENLs" || failc "manifest lacks pol or the ENL pair"

# ---- same ----
"$G" monitor --stack "$W/s/sar.list" -m sar --pol vv --direction decrease -o "$W/polvv" \
    --start $START -q --enl 4.4 || failc "--pol vv: exit $?"
ok=1
for f in alert_date.tif alert_status.tif summary.json alert_map.png; do
    cmp -s "$W/polvv/$f" "$W/s-4.4-vv/$f" || ok=0
done
[ $ok = 1 ] && pass "--pol vv equals the default run" || failc "--pol vv differs from the default"

# ---- bands: undescribed two-band VRTs ----
mkdir -p "$W/s/vrt"
: > "$W/s/vrt.list"
while read -r d p; do
    b=$(basename "$p" .tif)
    (cd "$W/s/vrt" && gdalbuildvrt -q -separate "$b.vrt" "../sar/$b.tif" "../sar_vh/$b.tif") ||
        failc "gdalbuildvrt $b"
    echo "$d vrt/$b.vrt" >> "$W/s/vrt.list"
done < "$W/s/sar.list"
if gdalinfo "$W/s/vrt/2020-01-02.vrt" | grep -q Description; then
    failc "the VRTs carry band descriptions: this GDAL copies them"
fi
cmpout() { # cmpout A B: rasters and summary equal
    for f in alert_date.tif alert_status.tif summary.json; do
        cmp -s "$1/$f" "$2/$f" || return 1
    done
}
"$G" monitor --stack "$W/s/vrt.list" -m sar --pol vv,vh --direction decrease -o "$W/vrt-dual" \
    --start $START -q --enl 4.4 && cmpout "$W/vrt-dual" "$W/s-4.4-dual" &&
    pass "undescribed bands: --pol vv,vh reads bands 1 and 2" ||
    failc "undescribed bands: --pol vv,vh differs from the described stack"
"$G" monitor --stack "$W/s/vrt.list" -m sar --pol vh --direction decrease -o "$W/vrt-vh" \
    --start $START -q --enl 4.4 && cmpout "$W/vrt-vh" "$W/s-4.4-vh" &&
    pass "undescribed bands: --pol vh reads band 2" || failc "undescribed bands: --pol vh"
"$G" monitor --stack "$W/s/vrt.list" -m sar --pol vh --bands vh=1 --direction decrease \
    -o "$W/vrt-b1" --start $START -q --enl 4.4 && cmpout "$W/vrt-b1" "$W/s-4.4-vv" &&
    pass "--bands vh=1 names the band" || failc "--bands vh=1 not honoured"

# ---- append ----
head -n 35 "$W/s/sar2.list" > "$W/s/app.list"
"$G" monitor --stack "$W/s/app.list" -m sar --pol vv,vh --direction decrease -o "$W/app" \
    --start $START -q || failc "append first run: exit $?"
cp "$W/s/sar2.list" "$W/s/app.list"
"$G" monitor --stack "$W/s/app.list" -m sar --pol vv,vh --direction decrease -o "$W/app" \
    --start $START -q || failc "append second run: exit $?"
if grep -q 'incremental run, 1 new date' "$W/app/run.log" && cmpout "$W/app" "$W/s-auto-dual" &&
    "$G" verify "$W/app/manifest.json" >/dev/null; then
    pass "append: incremental (1 date), equal to the full run, verify passes"
else
    failc "append: not incremental or differs from the full run"
fi

# ---- bad ----
expect() { # expect RC WORD CMD...: exit code RC and WORD on stderr
    rc=$1 word=$2
    shift 2
    "$@" 2> "$W/err.txt" >/dev/null
    got=$?
    if [ $got -eq "$rc" ] && grep -q -- "$word" "$W/err.txt"; then
        pass "exit $rc: $(head -c 150 "$W/err.txt")"
    else
        failc "want exit $rc with '$word', got $got: $(cat "$W/err.txt")"
    fi
}
expect 2 "needs the VV and VH" "$G" monitor --stack "$W/s/sar.list" -m sar --pol vv,vh -o "$W/bad1" -q
expect 1 "no stack is -m sar" "$G" monitor --stack "$W/s/ndvi.list" -m value --pol vv -o "$W/bad2" -q
expect 1 "is not vv, vh or vv,vh" "$G" monitor --stack "$W/s/sar.list" -m sar --pol hv -o "$W/bad3" -q
expect 1 "--pol is for --stack" "$G" monitor --stac http://127.0.0.1:9/ --collection c \
    --aoi "$W/none.geojson" --from 2020-01-01 --to 2020-02-01 -m sar --pol vv,vh -o "$W/bad4" -q

[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
exit $((fails > 0))
