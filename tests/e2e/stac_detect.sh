#!/usr/bin/env bash
# stac_detect.sh: geodelta search and detect --stac against a STAC API fixture served by
# nginx on 127.0.0.1: the right items are chosen, the remote AOI gives the same change
# pixels as the local files, only a small part of each COG is fetched, verify --inputs
# re-checks the remote inputs, --cache refetches nothing.
# usage: stac_detect.sh GEODELTA DATA COGS
set -euo pipefail
G="$1"
DATA="$2"
COGS="$3"
W="$(mktemp -d /tmp/gd_e2e_stac.XXXXXX)"
# shellcheck source=stac_fixture.sh
. "$(dirname "$0")/stac_fixture.sh"
trap 'stac_stop; rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

stac_make "$COGS"
stac_start || fail "nginx did not start"
Q=(--stac "$API" --collection sentinel-2-l2a --aoi "$W/aoi.geojson"
   --before 2015-07-01/2015-07-31 --after 2018-02-01/2018-02-28)

# ---- search: the table marks the chosen acquisition ----
"$G" search "${Q[@]}" >"$W/search.txt" || fail "search exit $?"
chosen="$(awk '$1 == "*" {print $2}' "$W/search.txt" | sort | tr '\n' ' ')"
[[ "$chosen" == "a-0211 b-0704-e b-0704-w " ]] || { cat "$W/search.txt"; fail "search chose '$chosen'"; }
grep -q "b-0620\|x-other" "$W/search.txt" && fail "search lists items outside the window or collection"
"$G" search "${Q[@]}" --max-cloud 4 --json >"$W/search.json"
jq -e '[.windows[0].items[].id] | index("b-0704-w") == null and index("b-0704-e") != null' \
    "$W/search.json" >/dev/null || fail "--max-cloud 4 kept b-0704-w (cloud 5)"
grep -q '^POST /s2/search' "$W/nginx/access.log" || fail "no POST search was tried"
grep -q '^GET /s2/search-2.json' "$W/nginx/access.log" || fail "the next page was not fetched"
echo "ok: search chose $chosen(POST answered 405, GET used, 2 pages)"

# ---- detect --stac against the same run on the local files ----
: >"$W/nginx/access.log"
"$G" detect "${Q[@]}" -m ndvi -o "$W/remote" -q --map-width 320 || fail "detect --stac exit $?"
"$G" detect -b "$DATA/oscd/pisa/t1.tif" -a "$DATA/oscd/pisa/t2.tif" --aoi "$W/aoi.geojson" \
    -m ndvi -o "$W/local" -q --map-width 320
M="$W/remote/manifest.json"
[[ "$(jq -c '[.discover.dates[].items | map(.id)]' "$M")" == '[["b-0704-e","b-0704-w"],["a-0211"]]' ]] ||
    fail "manifest records items $(jq -c '[.discover.dates[].items | map(.id)]' "$M")"
for k in etag last_modified size href; do
    jq -e --arg k "$k" '[.discover.dates[].bands[].assets[] | .[$k]] | all' "$M" >/dev/null ||
        fail "an asset lacks $k in the manifest"
done
jq -e '[.discover.dates[].bands[].pixels_sha256 | test("^[0-9a-f]{64}$")] | all' "$M" >/dev/null ||
    fail "a band lacks its pixel hash"
jq -e '.discover.query.api and .discover.query.datetime and (.discover.dates[0].items[0].self | test("/items/"))' \
    "$M" >/dev/null || fail "manifest lacks the API URL, query or self links"
for d in remote local; do
    gdal_translate -q -of ENVI "$W/$d/change.tif" "$W/$d.bin"
done
cmp -s "$W/remote.bin" "$W/local.bin" || fail "change.tif pixels differ between remote and local"
[[ "$(jq -c '[.grid.width, .grid.height, .changed_pixels, .valid_pixels]' "$W/remote/summary.json")" == \
   "$(jq -c '[.grid.width, .grid.height, .changed_pixels, .valid_pixels]' "$W/local/summary.json")" ]] ||
    fail "summaries differ"
echo "ok: remote AOI = local files: $(jq -c '[.grid.width, .grid.height, .changed_pixels]' "$W/local/summary.json") (w, h, changed px)"

# ---- only a small part of each file is read ----
stac_bytes >"$W/bytes.txt"
[[ $(wc -l <"$W/bytes.txt") -eq 18 ]] || { cat "$W/bytes.txt"; fail "expected 18 assets fetched"; }
awk '{f = $2 / $3; t += $2; s += $3; if (f > m) m = f}
     END {printf "ok: fetched %d of %d bytes (%.1f %%) of the 18 assets, at most %.1f %% of one\n", t, s, 100 * t / s, 100 * m;
          exit !(m < 0.2)}' "$W/bytes.txt" || fail "a file was fetched beyond 20 %"

# ---- the same change.tif bytes from the same files read locally: the catalogue's hrefs
# as file:// paths (no pixel over HTTP), the same mosaic and window. The run id (in
# change.tif) follows from the hashes of the pixels analysed, so it matches; the run on
# the whole local files above hashes whole files and has its own run id (docs/stac.md).
: >"$W/nginx/access.log"
"$G" detect "${Q[@]/#$API/$BASE/local}" -m ndvi -o "$W/localcat" -q --map-width 320 ||
    fail "detect --stac with file:// hrefs: exit $?"
grep -q '^GET /data/' "$W/nginx/access.log" && fail "the file:// catalogue fetched pixels over HTTP"
jq -e '[.discover.dates[].bands[].assets[].href | startswith("file://")] | all' \
    "$W/localcat/manifest.json" >/dev/null || fail "the local catalogue's assets are not files"
cmp -s "$W/remote/change.tif" "$W/localcat/change.tif" ||
    fail "change.tif bytes differ between /vsicurl/ and the same files read locally"
[[ "$(jq -r .run_id "$M")" == "$(jq -r .run_id "$W/localcat/manifest.json")" ]] || fail "run ids differ"
[[ "$(jq -c '[.discover.dates[].bands[].pixels_sha256]' "$M")" == \
   "$(jq -c '[.discover.dates[].bands[].pixels_sha256]' "$W/localcat/manifest.json")" ]] ||
    fail "pixel hashes differ between /vsicurl/ and local reads"
[[ "$(jq -r .run_id "$M")" != "$(jq -r .run_id "$W/local/manifest.json")" ]] ||
    fail "the whole-file run has the window run's id (it hashes other bytes)"
echo "ok: remote AOI = the same files read locally: change.tif byte-identical, run id $(jq -r .run_id "$M" | cut -c1-12)"

# ---- verify --inputs: re-fetches and re-checks; an altered asset is found ----
"$G" verify --inputs -q "$M" || fail "verify --inputs of a clean remote run"
cp -p "$W/www/data/t2-full-red.tif" "$W/red.keep"
gdal_translate -q -b 4 -of COG -co BLOCKSIZE=128 -co COMPRESS=DEFLATE "$DATA/oscd/pisa/t1.tif" \
    "$W/www/data/t2-full-red.tif"
if "$G" verify --inputs -q "$M" 2>"$W/verify.err"; then fail "verify missed a replaced asset"; fi
grep -q "pixels of the analysed window changed" "$W/verify.err" || { cat "$W/verify.err"; fail "no pixel finding"; }
grep -q "etag was" "$W/verify.err" || fail "no ETag finding"
cp -p "$W/red.keep" "$W/www/data/t2-full-red.tif"
"$G" verify --inputs -q "$M" || fail "verify after restoring the asset"
echo "ok: verify --inputs re-checks ETag, size, Last-Modified and the window's pixels"

# ---- --cache: the second run fetches no pixel ----
"$G" detect "${Q[@]}" -m ndvi -o "$W/c1" -q --map-width 320 --cache "$W/cache"
: >"$W/nginx/access.log"
"$G" detect "${Q[@]}" -m ndvi -o "$W/c2" -q --map-width 320 --cache "$W/cache"
[[ "$(jq -r '[.discover.dates[].cache] | join(",")' "$W/c2/manifest.json")" == "hit,hit" ]] ||
    fail "second cached run did not hit the cache"
grep -q '^GET /data/' "$W/nginx/access.log" && fail "a cached run fetched pixels"
cmp -s "$W/c1/change.tif" "$W/c2/change.tif" || fail "cached run's change.tif differs"
cmp -s "$W/remote/change.tif" "$W/c2/change.tif" || fail "cached and uncached change.tif differ"
"$G" verify --inputs -q "$W/c2/manifest.json" || fail "verify --inputs of a cached run"
echo "ok: --cache: no pixel refetched, change.tif byte-identical to the uncached run"

# ---- batch: the "stac" field instead of before/after ----
cat >"$W/batch.json" <<JSON
{"defaults": {"method": "ndvi", "aoi": "aoi.geojson", "params": {"map_width": 320}},
 "jobs": [{"id": "pisa", "stac": {"url": "$API", "collection": "sentinel-2-l2a",
           "before": "2015-07-01/2015-07-31", "after": "2018-02-01/2018-02-28",
           "max_cloud": 50, "cache": "cache"}}]}
JSON
"$G" batch "$W/batch.json" -o "$W/batch" -q || fail "batch with a stac job: exit $?"
[[ "$(jq -r '[.discover.dates[].cache] | join(",")' "$W/batch/pisa/manifest.json")" == "hit,hit" ]] ||
    fail "the batch job did not use the stac field with its cache"
# (not byte-identical: the batch titles the map with the job id, part of the run id)
[[ "$(jq -c '.inputs | map(.sha256)' "$W/batch/pisa/manifest.json")" == "$(jq -c '.inputs | map(.sha256)' "$M")" ]] ||
    fail "the batch job analysed other pixels than detect --stac"
gdal_translate -q -of ENVI "$W/batch/pisa/change.tif" "$W/batch.bin"
cmp -s "$W/remote.bin" "$W/batch.bin" || fail "batch change.tif pixels differ from detect --stac"
cat >"$W/bad.json" <<JSON
{"jobs": [{"id": "x", "method": "ndvi", "aoi": "aoi.geojson", "before": "a.tif",
           "stac": {"url": "$API", "collection": "c", "before": "2015-07-01", "after": "soon"}}]}
JSON
rc=0; "$G" batch "$W/bad.json" -o "$W/bad" 2>"$W/bad.err" || rc=$?
if ! { [[ $rc -eq 2 ]] && grep -q 'field stac: --after .soon. is not a date window' "$W/bad.err" &&
       grep -q 'stac.before and stac.after instead' "$W/bad.err"; }; then
    cat "$W/bad.err"; fail "bad stac job: exit $rc"
fi
echo "ok: batch \"stac\" field: same inputs and change pixels as detect --stac, bad fields named"

# ---- a POST-only API: the search is POSTed, the next link's body merged; a token from
# GDAL_HTTP_HEADER_FILE reaches the server but no output ----
: >"$W/nginx/access.log"
printf 'Authorization: Bearer geodelta-test-secret-7731\n' >"$W/headers.txt"
GDAL_HTTP_HEADER_FILE="$W/headers.txt" "$G" detect --stac "$BASE/post" --collection sentinel-2-l2a \
    --aoi "$W/aoi.geojson" --before 2015-07-01/2015-07-31 --after 2018-02-01/2018-02-28 \
    -m ndvi -o "$W/post" -q --map-width 320 || fail "POST API: exit $?"
[[ "$(jq -r .discover.query.search_method "$W/post/manifest.json")" == POST ]] || fail "POST API searched by GET"
grep -q '"POST /post/search?page=2 ' "$W/nginx/access.log" || fail "the POST next link was not followed"
grep -q '"GET /post/search' "$W/nginx/access.log" && fail "a POST-only API got a GET search"
grep -q 'geodelta-test-secret-7731' "$W/nginx/access.log" || fail "the header file's token was not sent"
grep -rq 'geodelta-test-secret-7731' "$W/post" && fail "the token was written into the outputs"
echo "ok: POST-only API searched by POST with the next link's body; the token only on the wire"
