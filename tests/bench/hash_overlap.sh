#!/usr/bin/env bash
# hash_overlap.sh: what hashing the inputs costs a detect run (on demand, not in ctest).
# Runs detect N times on a sample pair and prints, per run, the wall time, the seconds
# the background thread spent hashing the inputs and the seconds the chain waited for it
# (timing in manifest.json). A serial design would add the hashing time to every run;
# the overlap adds only the wait. sha256sum of the same files, timed in the same
# session, is printed as an outside reference.
# usage: tests/bench/hash_overlap.sh GEODELTA BEFORE AFTER [N]
set -euo pipefail
G="$1"; B="$2"; A="$3"; N="${4:-5}"
W="$(mktemp -d /tmp/gd_bench_hash.XXXXXX)"
trap 'rm -rf "$W"' EXIT
base=()
for ((i = 0; i < N; i++)); do
    s=$(date +%s.%N); sha256sum "$B" "$A" >/dev/null; e=$(date +%s.%N)
    base+=("$(echo "$e - $s" | bc)")
    s=$(date +%s.%N)
    "$G" detect -b "$B" -a "$A" -m ndvi -o "$W/out" -q --overwrite
    e=$(date +%s.%N)
    python3 - "$W/out/manifest.json" "$(echo "$e - $s" | bc)" "${base[-1]}" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["timing"]
wall, serial = float(sys.argv[2]), float(sys.argv[3])
saved = t["input_hash_seconds"] - t["input_hash_wait_seconds"]
print(f"wall {wall:.3f} s  hashing in the thread {t['input_hash_seconds']*1e3:.1f} ms  "
      f"waited {t['input_hash_wait_seconds']*1e3:.2f} ms  -> saved {saved*1e3:.1f} ms "
      f"({100*saved/wall:.1f} % of the wall time); sha256sum of the same files "
      f"{serial*1e3:.1f} ms (incl. its process start)")
PY
done
