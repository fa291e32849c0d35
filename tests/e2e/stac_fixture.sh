# shellcheck shell=bash disable=SC2086  # (item file lists are split on purpose)
# stac_fixture.sh: sourced by the stac_*.sh tests. Builds a STAC API fixture from the OSCD
# Pisa pair (per-band COGs laid out like a Sentinel-2 collection, one acquisition split
# into two tiles, items with eo:cloud_cover, a search answering in two pages) and serves
# it with nginx on 127.0.0.1 on a free port, stopped by PID whatever happens.
# Needs: W (work folder), DATA (../shared/data). Sets: PORT, API, NGINX_PID.

stac_skip() { echo "SKIP: $*"; exit 77; }
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || stac_skip "nginx not installed (scripts/setup-deps)"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
command -v jq >/dev/null || stac_skip "jq not installed"
command -v gdal_translate >/dev/null || stac_skip "gdal_translate not installed"

NGINX_PID=""
stac_stop() {
    if [[ -n "$NGINX_PID" ]]; then
        kill "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
        NGINX_PID=""
    fi
}

# band index in the 13-band OSCD stack -> the Sentinel-2 L2A asset key and common name
BANDS="2:blue:B02 3:green:B03 4:red:B04 8:nir:B08 12:swir16:B11 13:swir22:B12"

# per-band COGs of one date and tile: $1 t1|t2, $2 tile name, $3 srcwin ("" = whole)
stac_cogs() {
    local src="$DATA/oscd/pisa/$1.tif" b key
    for spec in $BANDS; do
        IFS=: read -r b key _ <<<"$spec"
        # shellcheck disable=SC2086
        gdal_translate -q -b "$b" ${3:+-srcwin $3} -of COG -co BLOCKSIZE=128 \
            -co COMPRESS=DEFLATE "$src" "$W/www/data/$1-$2-$key.tif"
    done
}

# one item: id datetime cloud tile-file-prefix geometry-tile [collection]
stac_item() {
    local id="$1" dt="$2" cloud="$3" files="$4" geomtile="$5" coll="${6:-sentinel-2-l2a}"
    local geom assets="{}" b key cn
    geom="$(gdalinfo -json "$W/www/data/$geomtile-red.tif" | jq -c .wgs84Extent)"
    for spec in $BANDS; do
        IFS=: read -r b key cn <<<"$spec"
        assets="$(jq -c --arg k "$key" --arg cn "$key" --arg name "$cn" \
            --arg href "$BASE/data/$files-$key.tif" \
            '. + {($k): {href: $href, type: "image/tiff; application=geotiff; profile=cloud-optimized",
                       roles: ["data"], "eo:bands": [{name: $name, common_name: $cn}]}}' <<<"$assets")"
    done
    jq -cn --arg id "$id" --arg dt "$dt" --argjson cloud "$cloud" --argjson geom "$geom" \
        --argjson assets "$assets" --arg coll "$coll" --arg self "$BASE/items/$id" '
        {type: "Feature", stac_version: "1.0.0", id: $id, collection: $coll,
         stac_extensions: ["https://stac-extensions.github.io/eo/v1.1.0/schema.json"],
         geometry: $geom, bbox: [$geom.coordinates[0][0][0], $geom.coordinates[0][1][1],
                                 $geom.coordinates[0][2][0], $geom.coordinates[0][0][1]],
         properties: {datetime: $dt, platform: "sentinel-2a", "eo:cloud_cover": $cloud},
         links: [{rel: "self", href: $self}], assets: $assets}'
}

# a Sentinel-1 RTC-like item: id datetime relative-orbit direction t1|t2
stac_sar_item() {
    local geom
    geom="$(gdalinfo -json "$W/www/data/s1-$5-vv.tif" | jq -c .wgs84Extent)"
    jq -cn --arg id "$1" --arg dt "$2" --argjson ro "$3" --arg dir "$4" --argjson geom "$geom" \
        --arg href "$BASE/data/s1-$5-vv.tif" --arg self "$BASE/items/$1" '
        {type: "Feature", stac_version: "1.0.0", id: $id, collection: "sentinel-1-rtc",
         geometry: $geom, properties: {datetime: $dt, platform: "sentinel-1a",
           "sat:relative_orbit": $ro, "sat:orbit_state": $dir, "sar:polarizations": ["VV"]},
         links: [{rel: "self", href: $self}],
         assets: {vv: {href: $href, type: "image/tiff; application=geotiff; profile=cloud-optimized",
                       roles: ["data"]}}}'
}

# a landing page for API root $1 (a path prefix)
stac_landing() {
    jq -n --arg base "$BASE/$1" '{type: "Catalog", id: "fixture", stac_version: "1.0.0",
        description: "geodelta test fixture",
        conformsTo: ["https://api.stacspec.org/v1.0.0/core",
                     "https://api.stacspec.org/v1.0.0/item-search"],
        links: [{rel: "self", href: $base},
                {rel: "search", href: ($base + "/search"), type: "application/geo+json", method: "GET"},
                {rel: "search", href: ($base + "/search"), type: "application/geo+json", method: "POST"}]}' \
        >"$W/www/$1/landing.json"
}

# search pages of API root $1 from item files $2 (page 1) and $3 (page 2)
stac_pages() {
    jq -s --arg next "$BASE/$1/search?page=2" \
        '{type: "FeatureCollection", features: ., links: [{rel: "next", href: $next, method: "GET"}]}' \
        $2 >"$W/www/$1/search-1.json"
    jq -s '{type: "FeatureCollection", features: ., links: []}' $3 >"$W/www/$1/search-2.json"
}

stac_free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 40000))
        (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}

# the COGs, once for all stac tests (the e2e.stac.cogs fixture): $1 = folder
stac_make_cogs() {
    local out="$1"
    [[ -f "$DATA/oscd/pisa/t1.tif" ]] || stac_skip "no $DATA/oscd/pisa"
    W="$out.tmp"
    rm -rf "$W"
    mkdir -p "$W/www/data"
    stac_cogs t1 full ""
    stac_cogs t1 west "0 0 400 776"
    stac_cogs t1 east "360 0 358 776"
    stac_cogs t2 full ""
    # a SAR pair as RTC-like VV COGs (Bern, put on a 10 m UTM 32N grid)
    local t
    for t in t1 t2; do
        gdal_translate -q -b 1 -a_srs EPSG:32632 -a_ullr 380000 5200000 383010 5196990 \
            -of COG -co BLOCKSIZE=128 "$DATA/sar/bern/$t.bmp" "$W/www/data/s1-$t-vv.tif"
    done
    rm -rf "$out"
    mv "$W/www/data" "$out"
    rm -rf "$W"
}

# the API of a test in $W: COGs copied from $1, items, pages, nginx.conf
stac_make() {
    [[ -f "$1/t2-full-red.tif" ]] || stac_skip "no COG fixture in $1 (e2e.stac.cogs)"
    # nginx started as root serves as an unprivileged worker: mktemp's 0700 would hide it
    chmod 755 "$W"
    mkdir -p "$W/www/items" "$W/nginx/tmp"
    cp -r "$1" "$W/www/data"
    # the AOI straddles the two tiles (columns 330..430, rows 300..400 of the scene)
    cat >"$W/aoi.geojson" <<'EOF'
{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
 "geometry": {"type": "Polygon", "coordinates": [[[10.3986, 43.7260], [10.4092, 43.7258],
  [10.4094, 43.7180], [10.4040, 43.7153], [10.3988, 43.7170], [10.3986, 43.7260]]]}}]}
EOF
    PORT="$(stac_free_port)" || stac_skip "no free port"
    BASE="http://127.0.0.1:$PORT"
    API="$BASE/s2"
    local it="$W/items"
    mkdir -p "$it"
    # before window 2015-07-01/2015-07-31: the 07-04 acquisition split in two tiles (cloud
    # 5 and 3) is the least cloudy one covering the AOI; 07-14 covers it but is cloudier;
    # 07-24 is clear but covers only the west half; 06-20 is outside the window
    stac_item b-0704-w 2015-07-04T10:20:31Z 5 t1-west t1-west >"$it/b-0704-w.json"
    stac_item b-0704-e 2015-07-04T10:20:31Z 3 t1-east t1-east >"$it/b-0704-e.json"
    stac_item b-0714 2015-07-14T10:20:31Z 40 t1-full t1-full >"$it/b-0714.json"
    stac_item b-0724 2015-07-24T10:20:31Z 0 t1-west t1-west >"$it/b-0724.json"
    stac_item b-0620 2015-06-20T10:20:31Z 0 t1-full t1-full >"$it/b-0620.json"
    # after window 2018-02-01/2018-02-28: 02-11 (cloud 10) beats 02-16 (cloud 60); x-other
    # is another collection
    stac_item a-0211 2018-02-11T10:21:09Z 10 t2-full t2-full >"$it/a-0211.json"
    stac_item a-0216 2018-02-16T10:21:09Z 60 t2-full t2-full >"$it/a-0216.json"
    stac_item x-other 2018-02-11T10:21:09Z 0 t2-full t2-full landsat-c2-l2 >"$it/x-other.json"
    for f in "$it"/*.json; do cp "$f" "$W/www/items/$(basename "$f" .json)"; done
    local root
    for root in s2 e500 r429 stall empty a404 trunc; do
        mkdir -p "$W/www/$root"
        stac_landing "$root"
        stac_pages "$root" "$it/b-0704-w.json $it/b-0714.json $it/a-0216.json $it/b-0620.json" \
            "$it/b-0704-e.json $it/b-0724.json $it/a-0211.json $it/x-other.json"
    done
    # local: the same catalogue with every asset href a local file (file://): the same
    # pixels read without HTTP, through the same mosaic and window
    mkdir -p "$W/www/local"
    stac_landing local
    for p in 1 2; do
        jq --arg from "$BASE/data/" --arg to "file://$W/www/data/" --arg next "$BASE/local/search?page=2" \
            '(.features[].assets[].href) |= (if startswith($from) then $to + ltrimstr($from) else . end) |
             (.links[] | select(.rel == "next") | .href) |= $next' \
            "$W/www/s2/search-$p.json" >"$W/www/local/search-$p.json"
    done
    # SAR: the after window has a descending pass of another orbit (sarmix: only that one)
    stac_sar_item s1-b-asc 2019-05-03T17:20:00Z 15 ascending t1 >"$it/s1-b-asc.json"
    stac_sar_item s1-a-desc 2019-05-10T05:40:00Z 66 descending t2 >"$it/s1-a-desc.json"
    stac_sar_item s1-a-asc 2019-05-15T17:20:00Z 15 ascending t2 >"$it/s1-a-asc.json"
    for root in sar sarmix; do
        mkdir -p "$W/www/$root"
        stac_landing "$root"
    done
    stac_pages sar "$it/s1-a-desc.json $it/s1-b-asc.json" "$it/s1-a-asc.json"
    stac_pages sarmix "$it/s1-a-desc.json" "$it/s1-b-asc.json"
    gdalinfo -json "$W/www/data/s1-t1-vv.tif" | jq '.wgs84Extent.coordinates[0] as $c |
        ([$c[][0]] | min) as $x0 | ([$c[][0]] | max) as $x1 | ([$c[][1]] | min) as $y0 |
        ([$c[][1]] | max) as $y1 | ($x1 - $x0) as $w | ($y1 - $y0) as $h |
        {type: "FeatureCollection", features: [{type: "Feature", properties: {}, geometry:
         {type: "Polygon", coordinates: [[[$x0 + 0.3 * $w, $y0 + 0.3 * $h], [$x0 + 0.7 * $w, $y0 + 0.3 * $h],
           [$x0 + 0.7 * $w, $y0 + 0.7 * $h], [$x0 + 0.3 * $w, $y0 + 0.7 * $h], [$x0 + 0.3 * $w, $y0 + 0.3 * $h]]]}}]}' \
        >"$W/aoi_sar.geojson"
    # post: a server that offers POST only (nginx answers the POST with the static page;
    # the next link asks for POST with a body to merge)
    mkdir -p "$W/www/post"
    jq -n --arg base "$BASE/post" '{type: "Catalog", id: "fixture-post", stac_version: "1.0.0",
        description: "POST only", conformsTo: ["https://api.stacspec.org/v1.0.0/core",
            "https://api.stacspec.org/v1.0.0/item-search", "https://api.stacspec.org/v1.0.0/item-search#query"],
        links: [{rel: "search", href: ($base + "/search"), method: "POST"}]}' >"$W/www/post/landing.json"
    jq --arg next "$BASE/post/search?page=2" '.links = [{rel: "next", href: $next, method: "POST",
        body: {token: "page2"}, merge: true}]' "$W/www/s2/search-1.json" >"$W/www/post/search-1.json"
    cp "$W/www/s2/search-2.json" "$W/www/post/search-2.json"
    # empty: the search finds nothing
    jq -n '{type: "FeatureCollection", features: [], links: []}' >"$W/www/empty/search-1.json"
    # a404: the chosen after item's red band is missing on the server
    # trunc: the chosen after item's red band is cut short (its header is intact)
    for root in a404 trunc; do
        for p in 1 2; do
            jq --arg from "$BASE/data/t2-full-red.tif" --arg to "$BASE/data/$root-red.tif" \
                '(.features[] | select(.id == "a-0211") | .assets.red.href) |= (if . == $from then $to else . end)' \
                "$W/www/$root/search-$p.json" >"$W/www/$root/t.json"
            mv "$W/www/$root/t.json" "$W/www/$root/search-$p.json"
        done
    done
    head -c 40000 "$W/www/data/t2-full-red.tif" >"$W/www/data/trunc-red.tif"
    stac_nginx_conf
}

# nginx.conf for $W/www on $PORT: ROOT/ is ROOT/landing.json, ROOT/search?page=N is
# ROOT/search-N.json, /data/ and /items/ as they are (and the error roots above)
stac_nginx_conf() {
    mkdir -p "$W/nginx/tmp"
    cat >"$W/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 64; }
http {
    types { application/json json; image/tiff tif; }
    default_type application/json;
    log_format bytes '\$request_method \$uri \$status \$body_bytes_sent "\$http_authorization" "\$request"';
    access_log $W/nginx/access.log bytes;
    client_body_temp_path $W/nginx/tmp/body;
    proxy_temp_path $W/nginx/tmp/proxy;
    fastcgi_temp_path $W/nginx/tmp/fastcgi;
    uwsgi_temp_path $W/nginx/tmp/uwsgi;
    scgi_temp_path $W/nginx/tmp/scgi;
    limit_req_zone \$binary_remote_addr zone=api:1m rate=1r/s;
    map \$arg_page \$page { default 1; 2 2; }
    server {
        listen 127.0.0.1:$PORT;
        root $W/www;
        etag on;
        location ^~ /e500 { return 500; }
        location ^~ /r429 {
            limit_req zone=api;
            limit_req_status 429;
            rewrite ^/r429/?\$ /r429/landing.json break;
            rewrite ^/r429/search\$ /r429/search-\$page.json break;
        }
        location ^~ /post {
            rewrite ^/post/?\$ /post/landing.json break;
            rewrite ^/post/search\$ /post/search-\$page.json break;
            error_page 405 =200 \$uri;
        }
        location ^~ /stall {
            limit_rate 1;
            rewrite ^/stall/?\$ /stall/landing.json break;
            rewrite ^/stall/search\$ /stall/search-\$page.json break;
        }
        location ~ ^/(?<root>[a-z0-9]+)/?\$ { try_files /\$root/landing.json =404; }
        location ~ ^/(?<root>[a-z0-9]+)/search\$ { try_files /\$root/search-\$page.json =404; }
        location /data/ { }
        location /items/ { }
    }
}
EOF
}

stac_start() {
    "$NGINX" -p "$W/nginx" -c "$W/nginx/nginx.conf" 2>>"$W/nginx/stderr" &
    NGINX_PID=$!
    for _ in $(seq 50); do
        curl -sf -o /dev/null "$API" 2>/dev/null && return 0
        kill -0 "$NGINX_PID" 2>/dev/null || { cat "$W/nginx/stderr" >&2; return 1; }
        sleep 0.1
    done
    return 1
}

# bytes sent for each .tif in the access log against its size: "file bytes size" lines
stac_bytes() {
    awk '$1 == "GET" && $2 ~ /\.tif$/ {b[$2] += $4} END {for (f in b) print f, b[f]}' \
        "$W/nginx/access.log" | while read -r f b; do
        echo "$f $b $(stat -c %s "$W/www$f")"
    done
}
