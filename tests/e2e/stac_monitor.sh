#!/usr/bin/env bash
# stac_monitor.sh: geodelta monitor --stac against a STAC API served by nginx on 127.0.0.1
# (stac_fixture.sh): a small synthetic stack made by monitor_eval's generator
# (gd_monitor_gen: 32 x 24 pixels of 20 m, 14 dates every 12 days, one 12 x 12 patch
# changing on 2020-04-20) as COGs and STAC items, SAR (VV, one orbit; a pass of another
# orbit to leave out) and optical (red and NIR assets, clouds as nodata). Checks:
#   same      alert_date.tif and alert_status.tif are byte-identical to monitor --stack on
#             the generator's own files; the manifest records the API, the query, every
#             item, asset (ETag, size) and pixel hash; the LIST written has one line a date
#   append    --to one date earlier, then the full range: the second run fetches the
#             pixels of the new date only (nginx's log), tests only it (incremental) and
#             gives the full run's rasters byte for byte
#   batch     a "kind": "monitor" job with params.stac, collection, aoi, from, to (and
#             cache): the same rasters as monitor --stac; --resume with a later "to"
#             reruns it incrementally; a missing to or stac, a bad range, a missing AOI
#             and a method count mismatch are refused by validation
#   errors    an empty search, a server that is down, a bad range: one line, exit 2 / 1
# usage: stac_monitor.sh GEODELTA GEN_STACK
set -euo pipefail
G="$1"
MK="$2"
DATA=/nonexistent # read by stac_fixture.sh (this test needs no shared data)
W="$(mktemp -d /tmp/gd_e2e_stacmon.XXXXXX)"
# shellcheck source=stac_fixture.sh
. "$(dirname "$0")/stac_fixture.sh"
trap 'stac_stop; rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
T0=$SECONDS

"$MK" "$W/s" --size 32x24 --pixel 20 --srs 32633 --origin 500000,4600000 \
    --opt 2020-01-01,12,14 --sar 2020-01-02,12,14 --start 2020-04-01 --changes 0 \
    --patch 8,6,20,18,2020-04-20 --fields 0 --nuisance 0 --season 0 --cleared-ndvi 0.25 \
    --cleared-db -17 --cloud-max 0.3 >/dev/null || fail "cannot make the stack"

chmod 755 "$W"
mkdir -p "$W/www/data" "$W/www/items" "$W/items"
PORT="$(stac_free_port)" || stac_skip "no free port"
BASE="http://127.0.0.1:$PORT"
API="$BASE/sar"
# the COGs: VV per SAR date; red and NIR (bands 1, 2 of rn/) per optical date
while read -r d f; do
    gdal_translate -q -of COG "$W/s/$f" "$W/www/data/sar-$d-vv.tif"
done <"$W/s/sar.list"
while read -r d f; do
    gdal_translate -q -b 1 -of COG "$W/s/$f" "$W/www/data/opt-$d-red.tif"
    gdal_translate -q -b 2 -of COG "$W/s/$f" "$W/www/data/opt-$d-nir.tif"
done <"$W/s/rn.list"
GEOM="$(gdalinfo -json "$W/s/sar/2020-01-02.tif" | jq -c .wgs84Extent)"
# the AOI: the stack's extent widened by a tenth (the window is then the whole image)
jq -c '.coordinates[0] as $c | ([$c[][0]] | min) as $x0 | ([$c[][0]] | max) as $x1 |
    ([$c[][1]] | min) as $y0 | ([$c[][1]] | max) as $y1 | (($x1 - $x0) / 10) as $dx |
    (($y1 - $y0) / 10) as $dy | {type: "FeatureCollection", features: [{type: "Feature",
    properties: {}, geometry: {type: "Polygon", coordinates: [[[$x0 - $dx, $y0 - $dy],
    [$x1 + $dx, $y0 - $dy], [$x1 + $dx, $y1 + $dy], [$x0 - $dx, $y1 + $dy],
    [$x0 - $dx, $y0 - $dy]]]}}]}' <<<"$GEOM" >"$W/aoi.geojson"

# one item: id date assets-json [orbit direction]
item() {
    jq -cn --arg id "$1" --arg dt "$2T10:00:00Z" --argjson geom "$GEOM" --argjson assets "$3" \
        --argjson ro "${4:-null}" --arg dir "${5:-}" --arg coll "$6" --arg self "$BASE/items/$1" '
        {type: "Feature", stac_version: "1.0.0", id: $id, collection: $coll, geometry: $geom,
         properties: ({datetime: $dt, platform: "synthetic"} +
                      (if $ro then {"sat:relative_orbit": $ro, "sat:orbit_state": $dir} else {} end)),
         links: [{rel: "self", href: $self}], assets: $assets}'
}
cog() { # href
    jq -cn --arg h "$1" '{href: $h, type: "image/tiff; application=geotiff; profile=cloud-optimized", roles: ["data"]}'
}
: >"$W/items/sar1" && : >"$W/items/sar2" && : >"$W/items/opt1" && : >"$W/items/opt2"
n=0
while read -r d _; do
    a="$(jq -cn --argjson vv "$(cog "$BASE/data/sar-$d-vv.tif")" '{vv: $vv}')"
    item "s1-$d" "$d" "$a" 15 ascending sentinel-1-synth >>"$W/items/sar$((n % 2 + 1))"
    n=$((n + 1))
done <"$W/s/sar.list"
# another orbit on a day of its own: left out (its asset does not exist: reading it fails)
item s1-other 2020-02-20 "$(jq -cn --argjson vv "$(cog "$BASE/data/missing-vv.tif")" '{vv: $vv}')" \
    66 descending sentinel-1-synth >>"$W/items/sar2"
n=0
while read -r d _; do
    a="$(jq -cn --argjson r "$(cog "$BASE/data/opt-$d-red.tif")" \
        --argjson n "$(cog "$BASE/data/opt-$d-nir.tif")" \
        '{red: ($r + {"eo:bands": [{name: "B04", common_name: "red"}]}),
          nir: ($n + {"eo:bands": [{name: "B08", common_name: "nir"}]})}')"
    item "s2-$d" "$d" "$a" "" "" optical-synth >>"$W/items/opt$((n % 2 + 1))"
    n=$((n + 1))
done <"$W/s/rn.list"
for root in sar opt empty; do
    mkdir -p "$W/www/$root"
    stac_landing "$root"
done
stac_pages sar "$W/items/sar1" "$W/items/sar2"
stac_pages opt "$W/items/opt1" "$W/items/opt2"
jq -n '{type: "FeatureCollection", features: [], links: []}' >"$W/www/empty/search-1.json"
stac_nginx_conf
stac_start || fail "nginx did not start"
echo "ok: fixture of $(ls "$W/www/data" | wc -l) COGs on port $PORT in $((SECONDS - T0)) s"

MON=(--start 2020-04-01 --confirm 2 -q --threads 2)
# ---- same: monitor --stac = monitor --stack on the generator's files ----
for k in sar:sar:sentinel-1-synth:2020-01-01:2020-06-30 opt:ndvi:optical-synth:2020-01-01:2020-06-30; do
    IFS=: read -r root m coll from to <<<"$k"
    list=sar.list
    [[ $root == opt ]] && list=rn.list
    t1=$SECONDS
    "$G" monitor --stac "$BASE/$root" --collection "$coll" --aoi "$W/aoi.geojson" --from "$from" \
        --to "$to" -m "$m" -o "$W/$root-stac" "${MON[@]}" || fail "$root: monitor --stac exit $?"
    t2=$SECONDS
    "$G" monitor --stack "$W/s/$list" -m "$m" -o "$W/$root-local" "${MON[@]}" ||
        fail "$root: monitor --stack exit $?"
    for f in alert_date.tif alert_status.tif; do
        cmp -s "$W/$root-stac/$f" "$W/$root-local/$f" || fail "$root: $f differs from --stack's"
    done
    M="$W/$root-stac/manifest.json"
    nd="$(wc -l <"$W/s/$list")"
    [[ "$(grep -vc '^#' "$W/$root-stac/stac/stack.txt")" -eq "$nd" ]] ||
        fail "$root: stac/stack.txt has not $nd dates"
    [[ "$(jq '.discover.dates | length' "$M")" -eq "$nd" ]] || fail "$root: manifest has not $nd dates"
    jq -e --arg api "$BASE/$root" '.discover.query.api == $api and
        (.discover.query.datetime == ["2020-01-01T00:00:00Z/2020-06-30T23:59:59Z"]) and
        ([.discover.dates[].items[].self | test("/items/")] | all) and
        ([.discover.dates[].bands[].assets[] | .etag and .size and .href] | all) and
        ([.discover.dates[].bands[].pixels_sha256 | test("^[0-9a-f]{64}$")] | all)' "$M" >/dev/null ||
        fail "$root: manifest lacks the API, query, items, assets or pixel hashes"
    "$G" verify "$M" >/dev/null || fail "$root: verify of the --stac run"
    "$G" verify --inputs "$M" >/dev/null || fail "$root: verify --inputs of the --stac run"
    # the patch is found (not a comparison that passes on empty rasters): confirmed alerts on
    # most of it, on at most 3 pixels elsewhere
    gdal_translate -q -of XYZ "$W/$root-stac/alert_status.tif" "$W/status.xyz"
    read -r cin cout < <(awk '$3 == 2 {i = int(($1 - 500000) / 20); j = int((4600000 - $2) / 20)
        if (i >= 8 && i < 20 && j >= 6 && j < 18) a++; else b++} END {print a + 0, b + 0}' "$W/status.xyz")
    [[ $cin -ge 50 && $cout -le 3 ]] || fail "$root: confirmed on $cin patch pixels (of 144), $cout elsewhere"
    echo "ok: $root: --stac = --stack, $nd dates ($((t2 - t1)) s); confirmed on $cin of the 144 patch pixels, $cout elsewhere"
done
jq -e '[.discover.dates[].items[].id] | index("s1-other") == null' "$W/sar-stac/manifest.json" \
    >/dev/null || fail "the pass of another orbit was read"
jq -e '.discover.left_out.other_orbit == 1' "$W/sar-stac/manifest.json" >/dev/null ||
    fail "left_out.other_orbit is not 1"
echo "ok: the pass of another orbit left out"

# ---- append: a later --to fetches and tests only the new date ----
last="$(tail -n 1 "$W/s/sar.list" | cut -d' ' -f1)"
prev="$(tail -n 2 "$W/s/sar.list" | head -n 1 | cut -d' ' -f1)"
Q=(--stac "$API" --collection sentinel-1-synth --aoi "$W/aoi.geojson" --from 2020-01-01 -m sar)
"$G" monitor "${Q[@]}" --to "$prev" -o "$W/inc" "${MON[@]}" || fail "append: first run exit $?"
: >"$W/nginx/access.log"
t1=$SECONDS
"$G" monitor "${Q[@]}" --to "$last" -o "$W/inc" "${MON[@]}" || fail "append: second run exit $?"
t2=$SECONDS
got="$(awk '$1 == "GET" && $2 ~ /\.tif$/ {print $2}' "$W/nginx/access.log" | sort -u | paste -sd' ')"
[[ "$got" == "/data/sar-$last-vv.tif" ]] || fail "append fetched pixels of: $got"
jq -e '.monitor.run == "incremental" and .monitor.dates_tested_this_run == 1' \
    "$W/inc/manifest.json" >/dev/null || fail "append: $(jq -c .monitor "$W/inc/manifest.json")"
"$G" monitor "${Q[@]}" --to 2020-06-30 -o "$W/full" "${MON[@]}" || fail "append: full run exit $?"
for f in alert_date.tif alert_status.tif; do
    cmp -s "$W/inc/$f" "$W/full/$f" || fail "append: $f differs from the full run's"
done
echo "ok: append: only $got fetched, 1 date tested, = full run ($((t2 - t1)) s)"

# ---- batch: a "kind": "monitor" job whose stack is the search (params.stac, collection,
# aoi, from, to: the option table's batch keys) gives the command line's rasters; the
# search's keys are validated before any job runs ----
mkdir -p "$W/batch"
cp "$W/aoi.geojson" "$W/batch/area.geojson"
jq -n --arg api "$API" '{defaults: {kind: "monitor", method: "sar",
    params: {stac: $api, collection: "sentinel-1-synth", start: "2020-04-01", confirm: 2}},
    jobs: [{id: "area", params: {aoi: "area.geojson", from: "2020-01-01", to: "2020-06-30",
                                 cache: "cache"}}]}' >"$W/batch/batch.json"
"$G" batch "$W/batch/batch.json" -o "$W/batch/out" -q || fail "batch: exit $?"
grep -q '^area,ok' "$W/batch/out/batch.csv" || fail "batch: $(cat "$W/batch/out/batch.csv")"
for f in alert_date.tif alert_status.tif; do
    cmp -s "$W/batch/out/area/$f" "$W/full/$f" || fail "batch: $f differs from monitor --stac's"
done
jq -e --arg api "$API" '.discover.query.api == $api' "$W/batch/out/area/manifest.json" >/dev/null ||
    fail "batch: the manifest has no discover record"
[[ -n "$(ls "$W/batch/cache")" ]] || fail "batch: params.cache (relative to the batch file) not used"
# a later "to" is another job spec: --resume reruns it, on the state and the cached windows
# (the batch index's verification then re-reads the assets, as for every --stac job)
jq '.jobs[0].params.to = "2020-07-31"' "$W/batch/batch.json" >"$W/batch/later.json"
"$G" batch "$W/batch/later.json" -o "$W/batch/out" -q --resume || fail "batch --resume: exit $?"
jq -e '.monitor.run == "incremental" and .monitor.dates_tested_this_run == 0' \
    "$W/batch/out/area/manifest.json" >/dev/null ||
    fail "batch --resume with a later to: $(jq -c .monitor "$W/batch/out/area/manifest.json")"
nc="$(grep -c 'window from the cache' "$W/batch/out/area/run.log")"
[[ $nc -eq 14 ]] || fail "batch --resume: $nc of 14 windows from the cache"
echo "ok: batch: params.stac job = monitor --stac (rasters), cache used, --resume with a later to reruns incrementally"
bj() { # bj NAME PATTERN JQ-EDIT: a bad job is refused before any job runs
    jq "$3" "$W/batch/batch.json" >"$W/batch/$1.json"
    local rc=0
    "$G" batch "$W/batch/$1.json" -o "$W/batch/o-$1" -q 2>"$W/batch/$1.err" || rc=$?
    [[ $rc -ne 0 ]] && grep -q "$2" "$W/batch/$1.err" ||
        { cat "$W/batch/$1.err"; fail "batch $1: exit $rc, expected '$2'"; }
    [[ ! -d "$W/batch/o-$1/area" ]] || fail "batch $1: the job ran"
    echo "ok: batch $1 -> exit $rc: $(head -n 1 "$W/batch/$1.err")"
}
bj noto "params.stac: needs params.from and params.to" 'del(.jobs[0].params.to)'
bj nostac "params.collection: needs params.stac" 'del(.defaults.params.stac)'
bj range "params.stac: .*is not a date range" '.jobs[0].params.from = "2020-07-01"'
bj noaoi "area-missing.geojson cannot be read" '.jobs[0].params.aoi = "area-missing.geojson"'
bj methods "one name, or one per stack" '.defaults.method = ["sar", "sar"]'

# ---- errors: one line, docs/stac.md's exit codes ----
err() { # name expected-code pattern args...
    local name="$1" code="$2" pat="$3" rc=0
    shift 3
    "$G" monitor "$@" -m sar -o "$W/e-$name" -q 2>"$W/$name.err" >/dev/null || rc=$?
    [[ $rc -eq $code && $(wc -l <"$W/$name.err") -eq 1 ]] && grep -q "$pat" "$W/$name.err" ||
        { cat "$W/$name.err"; fail "$name: exit $rc, expected $code and '$pat'"; }
    [[ ! -f "$W/e-$name/manifest.json" ]] || fail "$name: a manifest was written"
    echo "ok: $name -> exit $code: $(cat "$W/$name.err")"
}
err empty 2 "no item of collection" --stac "$BASE/empty" --collection sentinel-1-synth \
    --aoi "$W/aoi.geojson" --from 2020-01-01 --to 2020-06-30
DOWN="$(stac_free_port)"
err down 2 "127.0.0.1:$DOWN" --stac "http://127.0.0.1:$DOWN/" --collection sentinel-1-synth \
    --aoi "$W/aoi.geojson" --from 2020-01-01 --to 2020-06-30
err range 1 "is not a date range" "${Q[@]:0:6}" --from 2020-06-30 --to 2020-01-01
err noto 1 "needs --from DATE and --to DATE" "${Q[@]:0:6}" --from 2020-01-01
echo "ok: all in $((SECONDS - T0)) s"
