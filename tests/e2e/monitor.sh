#!/bin/sh
# monitor.sh: `geodelta monitor` end to end on a small synthetic stack made here by
# monitor_eval's generator (gd_monitor_gen, the options below: 48 x 40 pixels of 20 m on
# UTM 33N, 36 NDVI dates every 12 days from 2020-01-01 with clouds up to 30 % of a date,
# 36 SAR dates a day later in dB with 4.4 looks on a Web Mercator grid that is warped onto
# the first, one 16 x 16 patch cleared on 2020-12-02: NDVI 0.8 -> 0.25, VV -7.5 -> -17 dB).
#   monitor.sh GEODELTA_HOOKS GEN_STACK WORKDIR MAKE_SAMPLES
# GEODELTA_HOOKS is the test build with the pause points (tests/e2e/testhooks.c), used
# for the kill -9 cases. Checks:
#   enl       --enl auto finds 3..6 looks on the SAR stack's own grid (true 4.4)
#   detect    value, sar and value + sar: alert_date.tif holds, on >= 90 % of the patch,
#             its first observation from the change date on (gen_stack check: the first
#             date of the lists with a value there) and confirmed alerts on <= 2 % of
#             stable land; verify passes
#   threads   --threads 1, 2, 3 (as many row strips): the same bytes
#   append    35 dates, then the 36th appended to the lists: the second run is
#             incremental (tests 2 dates) and every raster, map and summary equals a full
#             run's bytes; alerts.gpkg's alerts layer equals the full run's, ids
#             included, and so does alert_history (kept date by date in every run)
#   gpkg      alerts.gpkg, the state: its layers and tables; the patch as one confirmed
#             polygon (first_seen, area, pixels, zone); zone_series = zones_series.csv;
#             a state of another px_state layout is refused; people with --population;
#             a rerun with no new date and another population / zones recomputes people,
#             zones and the zone series (= a full run's), keeping history and dates
#   legacy    a monitor.state v2 of earlier versions is continued once and removed
#   zones     zones_series.csv and one chart per zone; the patch zone's confirmed hectares
#   kill      kill -9 at a date, inside the state's transaction, after its commit, after
#             the state, before the manifest (full and appended runs): no manifest.json
#             left, and the rerun equals the reference (alerts.gpkg too, byte for byte)
#   ndvi      the index method from the bands of the 4-band samples (3 dates of before.tif,
#             3 of after.tif): alerts dated on the first after date only
#   batch     "kind": "monitor" jobs; --resume after a date appended to one area
#   bad       missing image, unsorted and duplicate dates, a malformed line, an unknown
#             method, -m count mismatch: one line on stderr, the documented exit code
set -u
G=$1 MK=$2 W=$3 MS=$4
rm -rf "$W"
mkdir -p "$W"
fails=0
pass() { echo "PASS: $1"; }
failc() { echo "FAIL: $1"; fails=$((fails + 1)); }

"$MK" "$W/s24" --size 48x40 --pixel 20 --srs 32633 --origin 500000,4600000 \
    --opt 2020-01-01,12,36 --sar 2020-01-02,12,36 --start 2020-08-28 --changes 0 \
    --patch 14,10,30,26,2020-12-02 --fields 0 --nuisance 0 --season 0 --cleared-ndvi 0.25 \
    --cleared-db -17 --cloud-max 0.3 --sar-srs 3857 --sar-pixel 25 --sar-db >/dev/null ||
    { echo "FAIL: cannot make the stack"; exit 1; }
mv "$W/s24/ndvi.list" "$W/s24/value.txt"
mv "$W/s24/sar.list" "$W/s24/sar.txt"
# s23: the first 35 dates, the 36th of each list held out to be appended
cp -r "$W/s24" "$W/s23"
for l in value sar; do
    head -n 35 "$W/s24/$l.txt" > "$W/s23/$l.txt"
    tail -n 1 "$W/s24/$l.txt" > "$W/s23/${l}_last.line"
done
START=2020-08-28 # 20 baseline dates; the patch changes on 2020-12-02 (SAR: 12-03)
both() { # both STACKDIR OUTDIR [more options]
    s=$1 o=$2
    shift 2
    "$G" monitor --stack "$s/value.txt" -m value --stack "$s/sar.txt" -m sar \
        --direction decrease -o "$o" --start $START -q "$@"
}

# ---- detect ----
for m in value sar; do
    # the SAR test with the stack's true number of looks (--enl auto is checked below)
    "$G" monitor --stack "$W/s24/$m.txt" -m $m --direction decrease -o "$W/$m" --start $START -q \
        $([ $m = sar ] && echo --enl 4.4)
    rc=$?
    # SAR dates are one day after the optical ones: its first date after the change is
    # 2020-12-03; a pixel under a cloud on 2020-12-02 is alerted at its next clear date
    if [ $rc -eq 0 ] && "$MK" check "$W/s24" "$W/$m/alert_date.tif" "$W/s24/$m.txt"; then
        pass "$m: the patch is alerted on its first observation after the change"
    else
        failc "$m: rc $rc or alert_date.tif wrong"
    fi
done
# --enl auto on the SAR stack's own grid: the speckle has 4.4 looks
"$G" monitor --stack "$W/s24/sar.txt" -m sar -o "$W/enl" --start $START -q || failc "enl auto: exit $?"
enl=$(grep -o 'ENL [0-9.]* estimated' "$W/enl/run.log" | cut -d' ' -f2)
if awk -v e="${enl:-0}" 'BEGIN { exit !(e >= 3 && e <= 6) }'; then
    pass "--enl auto estimates $enl looks (true 4.4)"
else
    failc "--enl auto estimates '${enl}' looks (true 4.4)"
fi
both "$W/s24" "$W/full" || failc "value + sar: exit $?"
if "$MK" check "$W/s24" "$W/full/alert_date.tif" "$W/s24/value.txt" "$W/s24/sar.txt"; then
    pass "value + sar (SAR warped from EPSG:3857): the first detection is the optical date"
else
    failc "value + sar: alert_date.tif wrong"
fi
"$G" verify "$W/full/manifest.json" >/dev/null 2>&1 && pass "verify passes" || failc "verify fails"
n=$(grep -c '"date":' "$W/full/manifest.json")
[ "$n" -eq 72 ] && pass "the manifest lists the 72 dated inputs" || failc "manifest lists $n dated inputs, not 72"
for f in alert_status.tif alert_map.png summary.json alerts.gpkg run.log; do
    [ -s "$W/full/$f" ] || failc "$f missing"
done
# --threads: row strips on the engine's pool; the outputs do not depend on the threads
for t in 1 2 3; do
    both "$W/s24" "$W/thr$t" --threads $t || failc "--threads $t: exit $?"
done
if grep -q "2 strip(s) of 20 rows on 2 thread(s)" "$W/thr2/run.log" &&
    grep -q "3 strip(s) of 14 rows on 3 thread(s)" "$W/thr3/run.log"; then
    same=1
    for t in 2 3; do
        for f in alert_date.tif alert_status.tif alert_map.png summary.json alerts.gpkg; do
            cmp -s "$W/thr1/$f" "$W/thr$t/$f" || { same=0; failc "--threads $t: $f differs from --threads 1"; }
        done
    done
    [ $same -eq 1 ] && pass "--threads 1, 2 and 3 (1, 2 and 3 strips): the same bytes"
else
    failc "--threads 2 / 3 did not run on 2 / 3 strips: $(grep -h 'strip(s)' "$W"/thr*/run.log)"
fi
gdalinfo "$W/full/alert_status.tif" 2>/dev/null | grep -q "confirmed" &&
    pass "alert_status.tif names its classes" || failc "alert_status.tif has no class names"

# ---- alerts.gpkg ----
# rows of a layer or query as CSV (geometry as WKT), without the header
gp_rows() { # gp_rows GPKG LAYER|-sql SQL
    f=$1
    shift
    ogr2ogr -f CSV -lco GEOMETRY=AS_WKT /vsistdout/ "$f" "$@" 2>/dev/null | tail -n +2
}
layers=$(ogrinfo -ro -so "$W/full/alerts.gpkg" 2>/dev/null | grep -c -E '^[0-9]+: (alerts \(Multi Polygon\)|dates \(None\))$')
# the state's tables are GeoPackage attribute tables (gpkg_contents), so GIS list them
at=$(gp_rows "$W/full/alerts.gpkg" -sql "SELECT group_concat(table_name, ' ') FROM (SELECT table_name FROM gpkg_contents WHERE data_type = 'attributes' ORDER BY table_name)" | tr -d '"')
[ "$at" = "alert_history dates layer_styles monitor_meta monitor_state" ] &&
    pass "alerts.gpkg: attribute tables $at" || failc "alerts.gpkg: attribute tables '$at'"
[ -e "$W/full/monitor.state" ] && failc "monitor.state written beside alerts.gpkg"
grep -q '"path": "alerts.gpkg"' "$W/full/manifest.json" || failc "alerts.gpkg: not in the manifest"
nd=$(gp_rows "$W/full/alerts.gpkg" dates | wc -l)
# 8-connected regions touch themselves at pixel corners: stored as valid multipolygons
nbad=$(gp_rows "$W/full/alerts.gpkg" -sql "SELECT count(*) FROM alerts WHERE NOT ST_IsValid(geom)" | tr -d '"')
[ "$nbad" = 0 ] && pass "alerts.gpkg: every polygon is valid" || failc "alerts.gpkg: '$nbad' invalid polygon(s)"
# the value + sar run: the SAR stack, warped, adds a rim to the patch (one region of equal
# status); first and last seen bracket the change date
row=$(gp_rows "$W/full/alerts.gpkg" -sql "SELECT status, replace(first_seen, '-', ''), replace(last_seen, '-', ''), area_ha FROM alerts WHERE status = 'confirmed' AND area_ha > 10.24 * 0.9 AND area_ha < 10.24 * 1.1" | tr -d '"')
if [ "$layers" -eq 2 ] && [ "$nd" -eq 72 ] &&
    echo "$row" | awk -F, '$2 <= 20201202 && $3 >= 20201202 { ok = 1 } END { exit !ok }'; then
    pass "alerts.gpkg (value + sar): alerts and dates layers ($nd dates); patch polygon $row"
else
    failc "alerts.gpkg (value + sar): $layers layers, $nd dates, patch polygon '$row'"
fi

# ---- append one date ----
cp -r "$W/s23" "$W/a"
both "$W/a" "$W/inc" || failc "23 dates: exit $?"
cp "$W/inc/alerts.gpkg" "$W/inc23.gpkg"
cat "$W/s23/value_last.line" >> "$W/a/value.txt"
cat "$W/s23/sar_last.line" >> "$W/a/sar.txt"
both "$W/a" "$W/inc" || failc "appended: exit $?"
grep -q '"run": "incremental"' "$W/inc/manifest.json" &&
    grep -q '"dates_tested_this_run": 2' "$W/inc/manifest.json" &&
    pass "the appended run tests only the 2 new dates" || failc "the appended run was not incremental"
same=1
for f in alert_date.tif alert_status.tif alert_map.png summary.json; do
    cmp -s "$W/full/$f" "$W/inc/$f" || { same=0; failc "appended: $f differs from the full run's"; }
done
[ $same -eq 1 ] && pass "appended run = full run, byte for byte (rasters, map, summary)"
"$G" verify "$W/inc/manifest.json" >/dev/null 2>&1 || failc "verify fails after the appended run"
# the alerts layer, ids aside, is the full run's (same regions, figures, geometries)
acols="SELECT class, status, first_seen, last_seen, area_ha, people, pixels, zone, geom FROM alerts ORDER BY fid"
[ -n "$(gp_rows "$W/inc/alerts.gpkg" -sql "$acols")" ] &&
    [ "$(gp_rows "$W/inc/alerts.gpkg" -sql "$acols")" = "$(gp_rows "$W/full/alerts.gpkg" -sql "$acols")" ] &&
    pass "appended run's alerts layer = the full run's but for the ids (CSV dump)" ||
    failc "appended run's alerts layer differs from the full run's"
# alert_history is kept date by date in every run: the full run's history and ids are the
# runs' over 35 + 1 dates (cleared and merged alerts included)
hcols="SELECT alert_id, date, status, merged_into, pixels, area_ha, recorded FROM alert_history ORDER BY fid"
hf=$(gp_rows "$W/full/alerts.gpkg" -sql "$hcols")
nh=$(echo "$hf" | grep -c ',cleared,')
if [ -n "$hf" ] && [ "$nh" -gt 0 ] && [ "$hf" = "$(gp_rows "$W/inc/alerts.gpkg" -sql "$hcols")" ] &&
    [ "$(gp_rows "$W/inc/alerts.gpkg" -sql "SELECT alert_id, $(echo "$acols" | cut -c8-)")" = "$(gp_rows "$W/full/alerts.gpkg" -sql "SELECT alert_id, $(echo "$acols" | cut -c8-)")" ]; then
    pass "alert_history: the full run's = the appended runs' ($(echo "$hf" | wc -l) rows, $nh cleared), and the alert ids too"
else
    failc "alert_history: the full run's ($(echo "$hf" | wc -l) rows, $nh cleared) differs from the appended runs'"
fi
# ids: an alert of the first run whose polygon is unchanged keeps its id; every alert of
# the first run is still there (same id) or alert_history says it was cleared or merged
ids=$(python3 - "$W/inc23.gpkg" "$W/inc/alerts.gpkg" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[2])
c.execute("ATTACH ? AS old", (sys.argv[1],))
same = c.execute("SELECT count(*), sum(a.alert_id = o.alert_id) FROM old.alerts o JOIN alerts a ON a.geom = o.geom").fetchone()
gone = c.execute("SELECT count(*) FROM old.alerts o WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.alert_id = o.alert_id) AND NOT EXISTS (SELECT 1 FROM alert_history h WHERE h.alert_id = o.alert_id AND h.status IN ('cleared', 'merged') AND h.date IN ('2021-02-24', '2021-02-25'))").fetchone()[0]
patch = c.execute("SELECT o.alert_id = a.alert_id FROM old.alerts o, alerts a WHERE o.status = 'confirmed' AND a.status = 'confirmed' AND o.pixels > 200 AND a.pixels > 200").fetchone()
newer = c.execute("SELECT min(alert_id) > (SELECT max(alert_id) FROM old.alerts) FROM alerts WHERE alert_id NOT IN (SELECT alert_id FROM old.alerts)").fetchone()[0]
print(same[0], same[1], gone, patch[0] if patch else None, newer)
PY
)
set -- $ids
if [ "${1:-0}" -gt 10 ] && [ "$1" = "$2" ] && [ "$3" = 0 ] && [ "$4" = 1 ] && [ "$5" != 0 ]; then
    pass "alert ids: the $1 unchanged alerts and the patch keep their ids, new ones come after, the others are in alert_history"
else
    failc "alert ids: unchanged $1 kept $2, unexplained $3, patch kept $4, new after old $5"
fi
# a run with nothing new keeps the outputs and leaves the state's bytes alone
cp "$W/inc/alerts.gpkg" "$W/inc24.gpkg"
both "$W/a" "$W/inc" && grep -q '"dates_tested_this_run": 0' "$W/inc/manifest.json" &&
    cmp -s "$W/full/alert_date.tif" "$W/inc/alert_date.tif" && cmp -s "$W/inc24.gpkg" "$W/inc/alerts.gpkg" &&
    pass "a rerun with no new date tests none and keeps the answer and the state" || failc "rerun with no new date"
# another parameter: the state is not used
both "$W/a" "$W/inc" --confirm 1 && grep -q '"run": "full"' "$W/inc/manifest.json" &&
    pass "other parameters: a full run" || failc "other parameters did not give a full run"

# ---- zones ----
cat > "$W/zones.geojson" <<'EOF'
{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
 "features": [
 {"type": "Feature", "properties": {"name": "patch"}, "geometry": {"type": "Polygon", "coordinates":
   [[[500280, 4599800], [500600, 4599800], [500600, 4599480], [500280, 4599480], [500280, 4599800]]]}},
 {"type": "Feature", "properties": {"name": "east"}, "geometry": {"type": "Polygon", "coordinates":
   [[[500700, 4600000], [500960, 4600000], [500960, 4599200], [500700, 4599200], [500700, 4600000]]]}}]}
EOF
both "$W/s24" "$W/zones" --zones "$W/zones.geojson" --zone-field name || failc "zones: exit $?"
if [ -s "$W/zones/zone_001.png" ] && [ -s "$W/zones/zone_002.png" ] && [ -s "$W/zones/zones_series.csv" ]; then
    # the patch zone is the patch (16 x 16 pixels of 20 m = 10.24 ha): confirmed at the end
    last=$(grep '^patch,' "$W/zones/zones_series.csv" | tail -1 | cut -d, -f5)
    first=$(grep '^patch,' "$W/zones/zones_series.csv" | head -1 | cut -d, -f5)
    if awk -v a="$last" -v b="$first" 'BEGIN { exit !(a > 9.2 && a < 10.5 && b < 0.5) }'; then
        pass "zones: the patch zone goes from $first to $last ha confirmed"
    else
        failc "zones: patch zone confirmed ha $first -> $last (want ~0 -> ~10.24)"
    fi
else
    failc "zones: series or charts missing"
fi
"$G" verify "$W/zones/manifest.json" >/dev/null 2>&1 || failc "verify fails with zones"

# ---- alerts.gpkg with zones ----
# the value-only run (its state: exactly the patch, 16 x 16 pixels of 20 m = 10.24 ha) with
# zones: its alert region is the patch, first_seen the earliest date alert_date.tif holds
# on it (a pixel falsely flagged before the change and confirmed after it counts), and the
# change date the date most of its pixels were first detected on
"$G" monitor --stack "$W/s24/value.txt" -m value --direction decrease -o "$W/vz" --start $START \
    --zones "$W/zones.geojson" --zone-field name -q || failc "alerts.gpkg: value run with zones: exit $?"
gdal_translate -q -of AAIGrid -srcwin 14 10 16 16 "$W/vz/alert_date.tif" "$W/vz/patch.asc"
tail -16 "$W/vz/patch.asc" | tr ' ' '\n' | awk 'NF && $1 > 0' | sort -n > "$W/vz/patch.dates"
pmin=$(head -1 "$W/vz/patch.dates")
pmode=$(uniq -c < "$W/vz/patch.dates" | sort -rn | head -1 | awk '{print $2}')
row=$(gp_rows "$W/vz/alerts.gpkg" -sql "SELECT status, replace(first_seen, '-', ''), replace(last_seen, '-', ''), area_ha, pixels, zone FROM alerts WHERE pixels > 100" | tr -d '"')
vl=$(ogrinfo -ro -so "$W/vz/alerts.gpkg" 2>/dev/null | grep -c -E '^[0-9]+: (alerts \(Multi Polygon\)|dates \(None\)|zone_series \(None\))$')
if [ "$vl" -eq 3 ] && [ "$pmode" = 20201202 ] &&
    echo "$row" | awk -F, -v m="$pmin" '$1 == "confirmed" && $2 == m && $3 >= 20201202 && $4 > 10.24 * 0.97 && $4 < 10.24 * 1.03 && $5 == 256 { ok = 1 } END { exit !ok }' &&
    echo "$row" | grep -q ',patch$'; then
    pass "alerts.gpkg (value, zones): 3 layers; the patch is one confirmed polygon ($row; earliest patch date $pmin, most pixels on $pmode)"
else
    failc "alerts.gpkg (value, zones): $vl layers, patch polygon '$row' (want confirmed, first_seen $pmin, ~10.24 ha, 256 px, zone patch; patch dated $pmode)"
fi
nz=$(gp_rows "$W/vz/alerts.gpkg" zone_series | wc -l)
[ "$nz" -eq "$(tail -n +2 "$W/vz/zones_series.csv" | wc -l)" ] && [ "$nz" -gt 0 ] &&
    pass "alerts.gpkg: zone_series has the $nz rows of zones_series.csv" ||
    failc "alerts.gpkg: zone_series has $nz rows, zones_series.csv $(tail -n +2 "$W/vz/zones_series.csv" | wc -l)"

# ---- kill -9 at deterministic points ----
kill_at() { # kill_at POINT OUTDIR STACKDIR: runs paused at POINT, kills it with SIGKILL
    point=$1 o=$2 s=$3
    rm -rf "$W/pause"
    mkdir -p "$W/pause"
    GEODELTA_TEST_PAUSE_AT=$point GEODELTA_TEST_PAUSE_DIR=$W/pause \
        "$G" monitor --stack "$s/value.txt" -m value --stack "$s/sar.txt" -m sar \
        --direction decrease -o "$o" --start $START -q &
    pid=$!
    n=0
    while [ ! -e "$W/pause/$point.reached" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
    [ -e "$W/pause/$point.reached" ] || { failc "kill: pause point $point not reached"; kill -KILL $pid; wait $pid 2>/dev/null; return; }
    kill -KILL $pid
    wait $pid 2>/dev/null
    if [ -e "$o/manifest.json" ]; then
        failc "kill at $point: manifest.json left behind"
    else
        pass "kill at $point: no manifest.json"
    fi
}
check_rerun() { # check_rerun OUTDIR STACKDIR WHAT GPKGREF
    both "$2" "$1" || { failc "$3: rerun exit $?"; return; }
    ok=1
    for f in alert_date.tif alert_status.tif summary.json; do
        cmp -s "$W/full/$f" "$1/$f" || { ok=0; failc "$3: rerun's $f differs from the reference"; }
    done
    # the state: the same bytes as the uninterrupted run's over the same lists
    cmp -s "$4" "$1/alerts.gpkg" || { ok=0; failc "$3: rerun's alerts.gpkg differs from the uninterrupted run's"; }
    [ $ok -eq 1 ] && "$G" verify "$1/manifest.json" >/dev/null 2>&1 && pass "$3: the rerun completes and equals the reference"
    [ -z "$(ls -a "$1" | grep -e '\.tmp' -e 'journal')" ] || failc "$3: temporaries or a journal left after the rerun"
}
# the uninterrupted appended run over the lists the killed runs use (alerts.gpkg holds
# their paths)
rm -rf "$W/ka" && cp -r "$W/s23" "$W/ka"
both "$W/ka" "$W/kref" || failc "kill reference: 23 dates"
cat "$W/s23/value_last.line" >> "$W/ka/value.txt"
cat "$W/s23/sar_last.line" >> "$W/ka/sar.txt"
both "$W/ka" "$W/kref" || failc "kill reference: appended"
for point in monitor-date monitor-state-write monitor-state-commit monitor-state before-manifest; do
    kill_at $point "$W/k-$point" "$W/s24"
    check_rerun "$W/k-$point" "$W/s24" "full run killed at $point" "$W/full/alerts.gpkg"
    # the same during an appended run (it updates alerts.gpkg in place)
    rm -rf "$W/ka" && cp -r "$W/s23" "$W/ka"
    both "$W/ka" "$W/ki-$point" || failc "kill: 23 dates"
    cp "$W/ki-$point/alerts.gpkg" "$W/ki-$point.before"
    cat "$W/s23/value_last.line" >> "$W/ka/value.txt"
    cat "$W/s23/sar_last.line" >> "$W/ka/sar.txt"
    kill_at $point "$W/ki-$point" "$W/ka"
    if [ $point = monitor-state-write ]; then
        # killed inside the transaction: SQLite's journal is there, and the file read
        # through it is the state before the run
        [ -e "$W/ki-$point/alerts.gpkg-journal" ] && pass "killed inside the transaction: alerts.gpkg-journal left" ||
            failc "killed inside the transaction: no journal"
        cp "$W/ki-$point/alerts.gpkg" "$W/ki-$point/alerts.gpkg-journal" "$W/" 2>/dev/null
        n0=$(gp_rows "$W/ki-$point.before" -sql "SELECT count(*) FROM dates" | tr -d '"')
        n1=$(gp_rows "$W/alerts.gpkg" -sql "SELECT count(*) FROM dates" | tr -d '"')
        [ "$n0" = 70 ] && [ "$n1" = "$n0" ] && pass "the killed transaction rolls back: $n1 dates, as before the run" ||
            failc "after the kill: $n1 dates, before the run $n0"
        rm -f "$W/alerts.gpkg" "$W/alerts.gpkg-journal"
    fi
    check_rerun "$W/ki-$point" "$W/ka" "appended run killed at $point" "$W/kref/alerts.gpkg"
done

# ---- the state's layout, population, a monitor.state v2 ----
# a state whose px_state layout differs from this build's is refused, with what to do
rm -rf "$W/lay" && cp -r "$W/kref" "$W/lay"
ogrinfo "$W/lay/alerts.gpkg" -sql "UPDATE monitor_meta SET value = '28' WHERE key = 'px_state_size'" >/dev/null 2>&1
both "$W/ka" "$W/lay" 2>"$W/lay.err"
rc=$?
if [ $rc -eq 2 ] && grep -q "px_state layout.*start over" "$W/lay.err"; then
    pass "a state of another layout is refused (exit 2): $(cat "$W/lay.err")"
else
    failc "a state of another layout: exit $rc, $(cat "$W/lay.err")"
fi
# --population: people per alert, as detect counts them (a constant 2 people per pixel of
# the grid: a polygon's people = 2 x its pixels)
gdal_calc.py --quiet -A "$W/full/alert_date.tif" --outfile="$W/pop.tif" --calc="A*0+2" --type=Float32 >/dev/null 2>&1
both "$W/s24" "$W/pop" --population "$W/pop.tif" || failc "--population: exit $?"
np=$(gp_rows "$W/pop/alerts.gpkg" -sql "SELECT count(*), sum(abs(people - 2 * pixels) < 0.01 * pixels) FROM alerts" | tr -d '"')
nf=$(gp_rows "$W/full/alerts.gpkg" -sql "SELECT count(*), count(people) FROM alerts" | tr -d '"')
if echo "$np" | awk -F, '$1 > 10 && $1 == $2 { ok = 1 } END { exit !ok }' && [ "${nf#*,}" = 0 ] &&
    grep -q '"role": "population"' "$W/pop/manifest.json"; then
    pass "--population: every alert's people = 2 x its pixels ($np); NULL without it"
else
    failc "--population: alerts/right '$np', without it '$nf'"
fi
# a rerun with no new date but another population or zones file (their hashes are in
# monitor_meta "derived"): the alerts' people and zones and the zone series are recomputed
# without testing a date; the alerts and the zone series then equal a full run's with those
# files, the history and the dates stay as they were
gdal_calc.py --quiet -A "$W/full/alert_date.tif" --outfile="$W/pop3.tif" --calc="A*0+3" --type=Float32 >/dev/null 2>&1
hcount() { gp_rows "$1" -sql "SELECT (SELECT count(*) FROM alert_history) || '/' || (SELECT count(*) FROM dates)" | tr -d '"'; }
h0=$(hcount "$W/pop/alerts.gpkg")
both "$W/s24" "$W/pop" --population "$W/pop3.tif" --zones "$W/zones.geojson" --zone-field name ||
    failc "rerun with another population: exit $?"
both "$W/s24" "$W/pop3" --population "$W/pop3.tif" --zones "$W/zones.geojson" --zone-field name ||
    failc "full run with pop3: exit $?"
zcols="SELECT zone, chart, date, detected_ha, confirmed_ha FROM zone_series ORDER BY fid"
np=$(gp_rows "$W/pop/alerts.gpkg" -sql "SELECT count(*), sum(abs(people - 3 * pixels) < 0.01 * pixels), count(zone) FROM alerts" | tr -d '"')
if grep -q '"dates_tested_this_run": 0' "$W/pop/manifest.json" && [ "$(hcount "$W/pop/alerts.gpkg")" = "$h0" ] &&
    echo "$np" | awk -F, '$1 > 10 && $1 == $2 && $3 > 0 { ok = 1 } END { exit !ok }' &&
    [ "$(gp_rows "$W/pop/alerts.gpkg" -sql "$acols")" = "$(gp_rows "$W/pop3/alerts.gpkg" -sql "$acols")" ] &&
    [ -n "$(gp_rows "$W/pop/alerts.gpkg" -sql "$zcols")" ] &&
    [ "$(gp_rows "$W/pop/alerts.gpkg" -sql "$zcols")" = "$(gp_rows "$W/pop3/alerts.gpkg" -sql "$zcols")" ] &&
    "$G" verify "$W/pop/manifest.json" >/dev/null 2>&1; then
    pass "a rerun with no new date and another population and zones recomputes people ($np), zones and zone series as a full run has them; history and dates kept ($h0)"
else
    failc "rerun with another population and zones: people '$np', history/dates $h0 -> $(hcount "$W/pop/alerts.gpkg")"
fi
cp "$W/pop/alerts.gpkg" "$W/pop3.gpkg"
both "$W/s24" "$W/pop" --population "$W/pop3.tif" --zones "$W/zones.geojson" --zone-field name &&
    cmp -s "$W/pop3.gpkg" "$W/pop/alerts.gpkg" &&
    pass "the same files again: the state is left as it is" || failc "the same population again rewrote the state"
both "$W/s24" "$W/pop" || failc "rerun without population and zones: exit $?"
nz=$(gp_rows "$W/pop/alerts.gpkg" -sql "SELECT count(people) + count(zone) + (SELECT count(*) FROM zone_series) FROM alerts" | tr -d '"')
[ "$nz" = 0 ] && pass "without them again: people, zones and zone series are empty" ||
    failc "without population and zones: $nz people/zones/zone series left"
# monitor.state v2 (what earlier versions kept): made here from a state of 23 dates, it
# is continued by the appended run, which then keeps the state in alerts.gpkg only
rm -rf "$W/v2" && cp -r "$W/inc23.gpkg" "$W/v2.gpkg" && mkdir -p "$W/v2"
python3 - "$W/v2.gpkg" "$W/v2/monitor.state" <<'PY'
import json, sqlite3, struct, sys
c = sqlite3.connect(sys.argv[1])
m = dict(c.execute("SELECT key, value FROM monitor_meta"))
cfg = json.loads(m["config"]); cfg["state"] = "GDMONST2"
ns = len(cfg["stacks"])
dates = [[[d, h] for d, h in c.execute("SELECT date, sha256 FROM dates WHERE stack = ? ORDER BY fid", (s + 1,))] for s in range(ns)]
head = json.dumps({"config": cfg, "dates": dates}).encode()
def blob(kind, stack):
    return b"".join(r[0] for r in c.execute("SELECT data FROM monitor_state WHERE kind = ? AND stack = ? ORDER BY y0", (kind, stack)))
npx = int(m["width"]) * int(m["height"])
with open(sys.argv[2], "wb") as f:
    f.write(b"GDMONST2" + struct.pack("<Q", len(head)) + head + struct.pack("<Q", npx) + blob("px_state", 0))
    for s in range(ns):
        f.write(blob("px_base", s + 1))
    f.write(b"GDMONEND")
PY
both "$W/ka" "$W/v2" || failc "monitor.state v2: exit $?"
if grep -q '"dates_tested_this_run": 2' "$W/v2/manifest.json" && [ ! -e "$W/v2/monitor.state" ] &&
    cmp -s "$W/full/alert_date.tif" "$W/v2/alert_date.tif" && cmp -s "$W/full/alert_status.tif" "$W/v2/alert_status.tif" &&
    [ "$(gp_rows "$W/v2/alerts.gpkg" -sql "SELECT count(*) FROM dates" | tr -d '"')" = 72 ] &&
    grep -q "converting .*monitor.state (v2)" "$W/v2/run.log"; then
    pass "monitor.state v2: continued once (2 dates tested, the full run's rasters), then removed"
else
    failc "monitor.state v2 not continued: $(grep -o '"dates_tested_this_run": [0-9]*' "$W/v2/manifest.json")"
fi

# ---- ndvi from the bands ----
"$MS" "$W/samples" --size 128 >/dev/null || failc "cannot make the samples"
printf '2020-01-01 samples/before.tif\n2020-02-01 samples/before.tif\n2020-03-01 samples/before.tif\n2020-04-01 samples/after.tif\n2020-05-01 samples/after.tif\n2020-06-01 samples/after.tif\n' > "$W/ndvi.txt"
if "$G" monitor --stack "$W/ndvi.txt" -m ndvi -o "$W/ndvi" --start 2020-04-01 -q; then
    st=$(gdalinfo -stats "$W/ndvi/alert_date.tif" 2>/dev/null | grep -o 'Minimum=[-0-9.]*, Maximum=[-0-9.]*')
    n=$(grep -o '"changed_pixels": [0-9]*' "$W/ndvi/summary.json" | grep -o '[0-9]*$')
    if [ "$st" = "Minimum=0.000, Maximum=20200401.000" ] && [ "${n:-0}" -gt 500 ]; then
        pass "ndvi from the bands: $n pixels alerted, all on 2020-04-01"
    else
        failc "ndvi from the bands: $st, changed $n"
    fi
else
    failc "ndvi from the bands: exit $?"
fi

# ---- batch: "kind": "monitor" jobs, one process per area; --resume after a date is
# appended to one area runs that area only, incrementally ----
mkdir -p "$W/batch"
cp -r "$W/s23" "$W/batch/a"
cp -r "$W/s23" "$W/batch/b"
cat > "$W/batch/batch.json" <<'EOF'
{"defaults": {"kind": "monitor", "params": {"start": "2020-08-28", "direction": "decrease"}},
 "shards": 1,
 "jobs": [
  {"id": "area-a", "stack": ["a/value.txt", "a/sar.txt"], "method": ["value", "sar"]},
  {"id": "area-b", "stack": "b/value.txt", "method": "value"}
 ]}
EOF
if "$G" batch "$W/batch/batch.json" -o "$W/batch/out" -q && grep -q '^area-a,ok' "$W/batch/out/batch.csv" &&
    grep -q '^area-b,ok' "$W/batch/out/batch.csv"; then
    pass "batch: two monitor jobs ok"
else
    failc "batch: monitor jobs failed: $(cat "$W/batch/out/batch.csv" 2>/dev/null)"
fi
cat "$W/s23/value_last.line" >> "$W/batch/b/value.txt"
cp "$W/batch/out/area-a/manifest.json" "$W/batch/a-manifest.json"
"$G" batch "$W/batch/batch.json" -o "$W/batch/out" -q --resume
if grep -q '"run": "incremental"' "$W/batch/out/area-b/manifest.json" &&
    grep -q '"dates_tested_this_run": 1' "$W/batch/out/area-b/manifest.json" &&
    cmp -s "$W/batch/a-manifest.json" "$W/batch/out/area-a/manifest.json"; then
    pass "batch --resume: the appended area ran incrementally, the other was left as it was"
else
    failc "batch --resume after an appended date"
fi
printf '{"jobs": [{"id": "x", "kind": "monitor", "stack": "nolist.txt", "method": "value", "before": "a"}]}\n' > "$W/batch/bad.json"
"$G" batch "$W/batch/bad.json" -o "$W/batch/out2" -q 2>"$W/batch/bad.err"
rc=$?
if [ $rc -ne 0 ] && grep -q "nolist.txt cannot be read" "$W/batch/bad.err" &&
    grep -q "field before: not a field of a monitor job" "$W/batch/bad.err"; then
    pass "batch: a bad monitor job is refused by validation (exit $rc)"
else
    failc "batch: bad monitor job: exit $rc, $(cat "$W/batch/bad.err")"
fi

# ---- bad inputs: one line, exit code ----
bad() { # bad WHAT EXPECTED_RC PATTERN [monitor args]
    what=$1 want=$2 pat=$3
    shift 3
    "$G" monitor "$@" -q >"$W/bad.out" 2>"$W/bad.err"
    rc=$?
    lines=$(wc -l < "$W/bad.err")
    if [ $rc -eq "$want" ] && [ "$lines" -eq 1 ] && grep -q "$pat" "$W/bad.err"; then
        pass "$what: exit $rc, $(cat "$W/bad.err")"
    else
        failc "$what: exit $rc (want $want), $lines line(s): $(cat "$W/bad.err")"
    fi
}
mkdir -p "$W/bad"
cp -r "$W/s23/ndvi" "$W/bad/"
printf '2020-01-01 ndvi/2020-01-01.tif\n2020-01-13 ndvi/missing.tif\n' > "$W/bad/missing.txt"
printf '2020-01-13 ndvi/2020-01-13.tif\n2020-01-01 ndvi/2020-01-01.tif\n' > "$W/bad/unsorted.txt"
printf '2020-01-01 ndvi/2020-01-01.tif\n2020-01-01 ndvi/2020-01-13.tif\n' > "$W/bad/dup.txt"
printf '2020-13-01 ndvi/2020-01-01.tif\n' > "$W/bad/baddate.txt"
printf '# nothing\n' > "$W/bad/empty.txt"
bad "missing image" 2 "missing.txt line 2" --stack "$W/bad/missing.txt" -m value -o "$W/bad/o1"
bad "unsorted dates" 2 "unsorted.txt line 2.*comes before" --stack "$W/bad/unsorted.txt" -m value -o "$W/bad/o2"
bad "duplicate dates" 2 "dup.txt line 2.*repeats" --stack "$W/bad/dup.txt" -m value -o "$W/bad/o3"
bad "malformed date" 2 "baddate.txt line 1" --stack "$W/bad/baddate.txt" -m value -o "$W/bad/o4"
bad "empty list" 2 "lists no image" --stack "$W/bad/empty.txt" -m value -o "$W/bad/o5"
bad "missing list" 2 "nolist.txt" --stack "$W/bad/nolist.txt" -m value -o "$W/bad/o6"
bad "unknown method" 1 "method" --stack "$W/s23/value.txt" -m ndwi -o "$W/bad/o7"
bad "-m count" 1 "once per --stack" --stack "$W/s23/value.txt" --stack "$W/s23/sar.txt" \
    -m value -m sar -m value -o "$W/bad/o8"
bad "bad --start" 1 "start" --stack "$W/s23/value.txt" -m value --start 2020-02-30 -o "$W/bad/o9"
bad "no --stack" 1 "stack" -m value -o "$W/bad/o10"
for o in o1 o2 o3 o4 o5; do
    [ -e "$W/bad/$o/manifest.json" ] && failc "bad input $o left a manifest"
done

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all monitor checks passed"
