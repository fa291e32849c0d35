#!/usr/bin/env bash
# shellcheck disable=SC2015  # "A && B || fail": fail whenever A or B is false, as meant
# stac_errors.sh: detect --stac when the server fails: 500, 429 (retried), a stalled
# server (timeout), an empty search, a missing and a truncated asset; usage errors.
# Each failure: one line on stderr, the right exit code, no manifest or change.tif.
# usage: stac_errors.sh GEODELTA DATA COGS
set -euo pipefail
G="$1"
DATA="$2" # read by stac_fixture.sh
export DATA
COGS="$3"
W="$(mktemp -d /tmp/gd_e2e_stacerr.XXXXXX)"
# shellcheck source=stac_fixture.sh
. "$(dirname "$0")/stac_fixture.sh"
trap 'stac_stop; rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

stac_make "$COGS"
stac_start || fail "nginx did not start"
W8=(--collection sentinel-2-l2a --aoi "$W/aoi.geojson" --before 2015-07-01/2015-07-31
    --after 2018-02-01/2018-02-28 -m ndvi -q --map-width 320)

# expect ROOT CODE PATTERN: the run against API root ROOT fails with CODE and one line
expect() {
    local root="$1" code="$2" pat="$3" rc=0 t0 t1
    t0=$(date +%s)
    GDAL_HTTP_TIMEOUT=3 "$G" detect --stac "$BASE/$root" "${W8[@]}" -o "$W/out_$root" \
        2>"$W/$root.err" >/dev/null || rc=$?
    t1=$(date +%s)
    [[ $rc -eq $code ]] || { cat "$W/$root.err"; fail "$root: exit $rc, expected $code"; }
    [[ $(wc -l <"$W/$root.err") -eq 1 ]] || { cat "$W/$root.err"; fail "$root: not one line"; }
    grep -q "^geodelta: .*$pat" "$W/$root.err" || { cat "$W/$root.err"; fail "$root: message"; }
    for f in manifest.json change.tif change.geojson summary.json map.png; do
        [[ -e "$W/out_$root/$f" ]] && fail "$root: $f left behind"
    done
    echo "ok: $root -> exit $code in $((t1 - t0)) s: $(cat "$W/$root.err")"
}
expect e500 2 "HTTP 500"
expect stall 2 "no complete answer within 3 s"
expect empty 2 "no item of collection sentinel-2-l2a"
expect a404 2 "asset red of item a-0211 .*HTTP 404"
expect trunc 2 "reading the AOI window of the after assets failed"

# 429: nginx's limit of one request a second answers the quick follow-ups with 429; the
# client waits and retries (GDAL_HTTP_RETRY_DELAY), the run completes
GDAL_HTTP_RETRY_DELAY=1 "$G" detect --stac "$BASE/r429" "${W8[@]}" -o "$W/out_r429" ||
    fail "429: the run did not recover"
grep -q '^GET /r429/search-1.json 429' "$W/nginx/access.log" || fail "429: nginx never refused"
grep -q "HTTP 429, retry 1 of" "$W/out_r429/run.log" || fail "429: no retry in run.log"
"$G" verify -q "$W/out_r429/manifest.json" || fail "429: outputs do not verify"
echo "ok: r429 -> retried $(grep -c 'HTTP 429, retry' "$W/out_r429/run.log") time(s), run complete"

# usage errors are exit 1 before any request
rc=0; "$G" detect --stac "$API" --aoi "$W/aoi.geojson" --before 2015-07-01 --after 2018-02-11 \
    -m ndvi -o "$W/u1" 2>"$W/u1.err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "needs --collection" "$W/u1.err" || fail "missing --collection: exit $rc"
rc=0; "$G" detect --stac "$API" --collection c --aoi "$W/aoi.geojson" --before 2015-07-31/2015-07-01 \
    --after 2018-02-11 -m ndvi -o "$W/u2" 2>"$W/u2.err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "is not a date window" "$W/u2.err" || fail "reversed window: exit $rc"
echo "ok: usage errors exit 1"

# ---- coverage: an acquisition covering 72 % of the AOI is a warning; under
# --min-coverage an error ----
CW=(--stac "$API" --collection sentinel-2-l2a --aoi "$W/aoi.geojson" --before 2015-07-20/2015-07-31
    --after 2018-02-01/2018-02-28 -m ndvi -q --map-width 320)
"$G" detect "${CW[@]}" -o "$W/cov" || fail "partial coverage: exit $?"
grep -q "covers 72.1 % of the AOI" "$W/cov/run.log" || fail "no coverage warning in run.log"
jq -e '.warnings | map(select(test("covers 72.1 %"))) | length == 1' "$W/cov/manifest.json" >/dev/null ||
    fail "no coverage warning in the manifest"
rc=0; "$G" detect "${CW[@]}" --min-coverage 0.8 -o "$W/cov2" 2>"$W/cov2.err" || rc=$?
[[ $rc -eq 2 && $(wc -l <"$W/cov2.err") -eq 1 ]] && grep -q "no acquisition covers 80 % of the AOI (best: 72.1 %" "$W/cov2.err" ||
    { cat "$W/cov2.err"; fail "--min-coverage 0.8: exit $rc"; }
[[ -e "$W/cov2/manifest.json" ]] && fail "--min-coverage: manifest left behind"
echo "ok: 72.1 % coverage warns; --min-coverage 0.8 refuses (exit 2)"

# ---- SAR: both dates from one relative orbit and direction, or a refusal ----
SW=(--collection sentinel-1-rtc --aoi "$W/aoi_sar.geojson" --before 2019-05-01/2019-05-05
    --after 2019-05-06/2019-05-31)
"$G" search --stac "$BASE/sar" "${SW[@]}" --json >"$W/sar.json"
[[ "$(jq -c '[.windows[].items[] | select(.chosen) | .id]' "$W/sar.json")" == '["s1-b-asc","s1-a-asc"]' ]] ||
    fail "SAR pair: chose $(jq -c '[.windows[].items[] | select(.chosen) | .id]' "$W/sar.json")"
"$G" detect --stac "$BASE/sar" "${SW[@]}" -m logratio -q --map-width 320 -o "$W/sar" ||
    fail "SAR detect exit $?"
[[ "$(jq -c '[.discover.dates[].items[].id]' "$W/sar/manifest.json")" == '["s1-b-asc","s1-a-asc"]' ]] ||
    fail "SAR detect used $(jq -c '[.discover.dates[].items[].id]' "$W/sar/manifest.json")"
rc=0; "$G" detect --stac "$BASE/sarmix" "${SW[@]}" -m logratio -q -o "$W/sarmix" 2>"$W/sarmix.err" || rc=$?
[[ $rc -eq 2 && $(wc -l <"$W/sarmix.err") -eq 1 ]] && grep -q "refusing a mixed pair" "$W/sarmix.err" ||
    { cat "$W/sarmix.err"; fail "mixed SAR pair: exit $rc"; }
echo "ok: SAR pair from orbit 15 ascending; a mixed pair refused: $(cat "$W/sarmix.err")"
