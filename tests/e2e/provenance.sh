#!/usr/bin/env bash
# provenance.sh: reproducible outputs, run id in every artefact, verify catches any
# altered byte of any output or input, Ed25519 signatures.
# usage: provenance.sh GEODELTA GD_MAKE_SAMPLES
set -euo pipefail
G="$1"
MK="$2"
W="$(mktemp -d /tmp/gd_e2e_prov.XXXXXX)"
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# a small scene keeps the test quick; the checks do not depend on the size
"$MK" --size 256 "$W/in" >/dev/null
# two runs from different paths (relative vs absolute inputs, other folder names) and
# GDAL thread settings: the artefacts must come out byte-identical
(cd "$W" && "$G" detect -b in/before.tif -a in/after.tif -m ndvi -o run1 -q --map-width 320)
GDAL_NUM_THREADS=2 "$G" detect -b "$W/in/before.tif" -a "$W/in/after.tif" -m ndvi \
    -o "$W/other/run2" -q --map-width 320
for f in change.tif change.geojson map.png; do
    cmp -s "$W/run1/$f" "$W/other/run2/$f" || fail "$f differs between two identical runs"
done
echo "ok: change.tif, change.geojson and map.png byte-identical across runs"

# the run id: recorded in the manifest, embedded in all three artefacts
rid="$(sed -n 's/^  "run_id": "\([0-9a-f]\{64\}\)",$/\1/p' "$W/run1/manifest.json")"
[[ ${#rid} -eq 64 ]] || fail "no run_id in manifest.json"
grep -aq "GEODELTA_RUN_ID\">$rid<" "$W/run1/change.tif" || fail "change.tif lacks GEODELTA_RUN_ID"
grep -q "\"geodelta_run_id\": \"$rid\"" "$W/run1/change.geojson" || fail "change.geojson lacks geodelta_run_id"
grep -aq "RunID.$rid" "$W/run1/map.png" || fail "map.png lacks the RunID text chunk"
grep -aq "tIME" "$W/run1/map.png" && fail "map.png has a tIME chunk"
grep -aq "DateTime\|TIFFTAG_DATETIME" "$W/run1/change.tif" && fail "change.tif has a date"
echo "ok: run id $rid in manifest, COG, GeoJSON and PNG"

# a signed run with every output (score.tif too)
(cd "$W" && "$G" keygen -o key >/dev/null && "$G" keygen -o other >/dev/null)
[[ "$(stat -c %a "$W/key.pem")" == 600 ]] || fail "private key is not mode 0600"
"$G" detect -b "$W/in/before.tif" -a "$W/in/after.tif" -m ndvi -o "$W/s" -q --map-width 320 \
    --keep-score --sign-key "$W/key.pem"
M="$W/s/manifest.json"
"$G" verify --inputs --pubkey "$W/key.pub.pem" -q "$M" || fail "clean run does not verify"
# the documented schema describes what is written (when python3-jsonschema is there)
SCHEMA="$(dirname "$0")/../../docs/manifest.schema.json"
if python3 -c 'import jsonschema' 2>/dev/null; then
    python3 - "$SCHEMA" "$M" "$W/run1/manifest.json" <<'PY' || fail "manifest.json does not follow docs/manifest.schema.json"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
for m in sys.argv[2:]:
    jsonschema.validate(json.load(open(m)), schema, cls=jsonschema.Draft202012Validator)
PY
    echo "ok: manifests follow docs/manifest.schema.json"
else
    echo "skip: python3 jsonschema not installed, schema not checked"
fi

# every output and both inputs: one flipped byte (first, last) is caught and named
flip() { # file offset
    local b
    b="$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')"
    printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
files=("$W/in/before.tif" "$W/in/after.tif")
for f in change.tif change.geojson summary.json map.png run.log score.tif; do
    files+=("$W/s/$f")
done
n=0
for f in "${files[@]}"; do
    size="$(stat -c %s "$f")"
    for off in 0 $((size - 1)); do
        cp "$f" "$W/orig"
        flip "$f" "$off"
        if out="$("$G" verify --inputs "$M" 2>&1)"; then
            fail "verify missed a flipped byte at $off in $f"
        fi
        grep -qF "$f" <<<"$out" || fail "verify did not name $f: $out"
        cp "$W/orig" "$f"
        n=$((n + 1))
    done
done
"$G" verify --inputs -q "$M" || fail "restored files do not verify"
echo "ok: $n single-byte alterations over ${#files[@]} files caught and named"

# a missing output is named too
mv "$W/s/map.png" "$W/map.png"
out="$("$G" verify "$M" 2>&1)" && fail "verify missed a missing map.png"
grep -q "map.png is missing" <<<"$out" || fail "missing map.png not named: $out"
mv "$W/map.png" "$W/s/map.png"

# signatures: an edited manifest whose hashes were made to match again still fails the
# signature; so does another key or a missing manifest.sig
cp "$M" "$W/manifest.orig"
flip "$W/s/map.png" 100
newsum="$(sha256sum "$W/s/map.png" | cut -d' ' -f1)"
oldsum="$(sed -n '/"path": "map.png"/,/sha256/s/.*"sha256": "\([0-9a-f]*\)".*/\1/p' "$M")"
sed -i "s/$oldsum/$newsum/" "$M"
"$G" verify -q "$M" || fail "the forged manifest should pass the hash check alone"
"$G" verify --pubkey "$W/key.pub.pem" -q "$M" 2>/dev/null && fail "signature accepted a changed manifest"
flip "$W/s/map.png" 100
cp "$W/manifest.orig" "$M"
"$G" verify --pubkey "$W/other.pub.pem" -q "$M" 2>/dev/null && fail "signature accepted another key"
mv "$W/s/manifest.sig" "$W/manifest.sig"
out="$("$G" verify --pubkey "$W/key.pub.pem" "$M" 2>&1)" && fail "verify passed without manifest.sig"
grep -q "manifest.sig is missing" <<<"$out" || fail "missing signature not named: $out"
mv "$W/manifest.sig" "$W/s/manifest.sig"
"$G" verify --inputs --pubkey "$W/key.pub.pem" -q "$M" || fail "restored signed run does not verify"
echo "ok: signatures (changed manifest, other key, missing signature) rejected"

# a key that cannot sign is a usage error before any work
rc=0
"$G" detect -b "$W/in/before.tif" -a "$W/in/after.tif" -m ndvi -o "$W/nokey" -q \
    --sign-key "$W/key.pub.pem" 2>/dev/null || rc=$?
[[ $rc -eq 1 && ! -e "$W/nokey" ]] || fail "--sign-key with a public key: exit $rc"
echo "ok: a public key given to --sign-key is refused (exit 1, nothing written)"

# editing the recorded parameters breaks the run id check
sed -i 's/"mmu_ha": 0.1[0-9]*/"mmu_ha": 0.5/' "$M"
out="$("$G" verify "$M" 2>&1)" && fail "verify accepted edited parameters"
grep -q "run_id" <<<"$out" || fail "edited parameters not reported: $out"
echo "ok: edited parameters no longer match the run id"
