#!/usr/bin/env bash
# package_lists.sh: the Dockerfile installs exactly scripts/packages-build.txt (build stage)
# and scripts/packages-runtime.txt (runtime stage), scripts/setup-deps reads the same build
# list, no package is named inline, and every shared library the geodelta binary needs
# comes from a package of the runtime list (or from libc6). Fast, no podman.
# usage: package_lists.sh SOURCE_DIR GEODELTA
set -euo pipefail
src="$1" gd="$2"
fail() { echo "FAIL: $*"; exit 1; }
df="$src/Dockerfile"
# inside the image's build stage only the sources are copied, not the Dockerfile
[[ -f "$df" ]] || { echo "SKIP: no Dockerfile in $src"; exit 77; }
list() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$1" | grep -v '^$'; }

# ---- the Dockerfile reads the lists, and only them
stages=$(grep -c '^FROM ' "$df")
[[ $stages == 2 ]] || fail "Dockerfile has $stages stages, expected 2 (build, runtime)"
build_stage=$(awk '/^FROM /{n++} n==1' "$df")
run_stage=$(awk '/^FROM /{n++} n==2' "$df")
grep -q 'COPY scripts/packages-build.txt ' <<<"$build_stage" || fail "build stage does not COPY scripts/packages-build.txt"
grep -q 'packages-build.txt' <<<"$(grep -A3 'apt-get update' <<<"$build_stage")" || fail "build stage does not install from packages-build.txt"
grep -q 'COPY scripts/packages-runtime.txt ' <<<"$run_stage" || fail "runtime stage does not COPY scripts/packages-runtime.txt"
grep -q 'packages-runtime.txt' <<<"$(grep -A3 'apt-get update' <<<"$run_stage")" || fail "runtime stage does not install from packages-runtime.txt"
# apt-get install only through xargs from a list: no package named in the Dockerfile
if grep -E 'apt-get install' "$df" | grep -vqE 'xargs apt-get install -y -q --no-install-recommends *\\?$'; then
    fail "an apt-get install in the Dockerfile names packages inline: $(grep 'apt-get install' "$df")"
fi
grep -q 'packages-build.txt' "$src/scripts/setup-deps" || fail "scripts/setup-deps does not read packages-build.txt"
grep -q '^USER ' <<<"$run_stage" || fail "runtime stage has no non-root USER"
grep -q '^ENTRYPOINT \["geodelta"\]' <<<"$run_stage" || fail "runtime ENTRYPOINT is not geodelta"

# ---- the lists themselves: no duplicates; the map's font is in the runtime list
for f in packages-build.txt packages-runtime.txt; do
    d=$(list "$src/scripts/$f" | sort | uniq -d)
    [[ -z "$d" ]] || fail "$f lists twice: $d"
done
list "$src/scripts/packages-runtime.txt" | grep -qx 'fonts-dejavu-core' || fail "runtime list lacks fonts-dejavu-core (the map's DejaVu Sans)"
grep -q '"DejaVu Sans"' "$src/pipeline/render/render.c" || fail "the map no longer uses DejaVu Sans: update the font package"

# ---- every NEEDED library of the binary comes from a runtime package (dpkg's file lists)
if [[ ! -d /var/lib/dpkg/info ]] || ! command -v readelf >/dev/null; then
    echo "PASS (library check skipped: no dpkg/readelf)"
    exit 0
fi
runtime=$(list "$src/scripts/packages-runtime.txt")
for lib in $(readelf -d "$gd" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && !p { p = $NF } END { print p }')
    [[ -n "$path" ]] || fail "$lib not found by ldconfig"
    # dpkg's file lists read directly: dpkg -S is slow and fails while apt is busy
    real=$(realpath "$path")
    owner=$(grep -lFx -e "$path" -e "/usr$path" -e "$real" -e "${real#/usr}" /var/lib/dpkg/info/*.list 2>/dev/null | sed -n 1p)
    pkg=$(basename "${owner:-}" .list)
    pkg="${pkg%%:*}"
    [[ -n "$pkg" ]] || fail "no package owns $path"
    # libc, and the sanitizer runtimes of an ASan/UBSan build (never in the image)
    [[ "$pkg" == libc6 || "$pkg" =~ ^lib(a|ub|l|t)san[0-9]+$ || "$pkg" == libgcc-s1 ]] && continue
    grep -qx "$pkg" <<<"$runtime" || fail "$lib comes from $pkg, missing from scripts/packages-runtime.txt"
    echo "$lib <- $pkg"
done
echo "PASS"
