#!/usr/bin/env bash
# batch_cli.sh: batch file validation (every error names job and field, nothing run),
# exit codes, sharding by --shard / SLURM / Kubernetes variables, and --merge.
# usage: batch_cli.sh GEODELTA GD_MAKE_SAMPLES WORKDIR
set -euo pipefail
gd="$1" gen="$2" work="$3"
. "$(dirname "$0")/batch_common.sh"
rm -rf "$work"
make_batch_inputs "$gen" "$work/in"
fail() { echo "FAIL: $*"; exit 1; }
run() { set +e; "$@"; rc=$?; set -e; }

# ---- validation: all problems listed, each naming the job and the field; nothing run
cat > "$work/in/bad.json" <<'JSON'
{"defaults": {"method": "ndvi", "params": {"mmu_ha": -1}},
 "jobs": [
  {"id": "ok1", "before": "a/before.tif", "after": "a/after.tif"},
  {"id": "ok1", "before": "a/before.tif", "after": "a/after.tif"},
  {"id": "nofile", "before": "a/missing.tif", "after": "a/after.tif"},
  {"id": "badmethod", "before": "a/before.tif", "after": "a/after.tif", "method": "magic"},
  {"before": "a/before.tif", "after": "a/after.tif"},
  {"id": "bad/id", "before": "a/before.tif", "after": "a/after.tif", "colour": "red"},
  {"id": "alerts", "before": "a/before.tif", "after": "a/after.tif",
   "alerts": {"purple": {"changed_ha": 1}}},
  {"id": "thr", "before": "a/before.tif", "after": "a/after.tif", "params": {"threshold": "high"}},
  {"id": "slope", "before": "a/before.tif", "after": "a/after.tif", "method": "flood",
   "dem": "a/no_dem.tif", "params": {"max_slope": 100}}
 ]}
JSON
run "$gd" batch "$work/in/bad.json" -o "$work/bad-out" 2> "$work/bad.err"
[[ $rc == 2 ]] || fail "invalid batch file: exit $rc, expected 2"
[[ ! -e "$work/bad-out" ]] || fail "invalid batch file: something was run"
for want in 'job "ok1" (#1): field id: duplicate of job #0' \
            'job "nofile" (#2): field before: ' \
            'job "badmethod" (#3): field method: unknown method' \
            'job #4: field id: missing' \
            'job "bad/id" (#5): field id:' \
            "job \"bad/id\" (#5): unknown field 'colour'" \
            'job "alerts" (#6): field alerts: unknown alert level' \
            'job "thr" (#7): params.threshold' \
            'job "slope" (#8): field dem: ' \
            'job "slope" (#8): params.max_slope' \
            'job "ok1" (#0): params.mmu_ha'; do
    grep -qF "$want" "$work/bad.err" || { cat "$work/bad.err"; fail "missing error: $want"; }
done
echo '{"jobs": [' > "$work/in/broken.json"
run "$gd" batch "$work/in/broken.json" -o "$work/bad-out" 2>/dev/null
[[ $rc == 2 ]] || fail "unparsable batch file: exit $rc, expected 2"
run "$gd" batch "$work/in/jobs.json" --check >/dev/null
[[ $rc == 0 ]] || fail "--check on a valid file: exit $rc"
run "$gd" batch "$work/in/jobs.json" -o "$work/x" --shard 3/3 2>/dev/null
[[ $rc == 1 ]] || fail "--shard 3/3: exit $rc, expected 1"

# ---- all jobs succeed: exit 0
sed -e '/"id": "fails"/d' "$work/in/jobs.json" > "$work/in/good.json"
run "$gd" batch "$work/in/good.json" -o "$work/good" -q
[[ $rc == 0 ]] || fail "batch without failing job: exit $rc, expected 0"
[[ $(tail -n +2 "$work/good/batch.csv" | grep -c ',ok,') == 5 ]] || fail "good: 5 ok rows expected"

# ---- unsharded reference, then the same batch in three shards, three ways
run "$gd" batch "$work/in/jobs.json" -o "$work/ref" --jobs 2 2> "$work/ref.err"
[[ $rc == 3 ]] || fail "reference: exit $rc, expected 3 (one job fails)"
[[ $(grep -c '^\[[0-9]/6\]' "$work/ref.err") == 6 ]] || { cat "$work/ref.err"; fail "one progress line per job expected"; }
grep -q 'ETA' "$work/ref.err" || fail "no ETA in progress"
grep -q '^fails,failed,.*nir' "$work/ref/batch.csv" || fail "the failing job's error is not in batch.csv"
[[ -s "$work/ref/fails/failed.json" ]] || fail "no failed.json for the failing job"
grep -q "^a-ndvi,ok,[0-9.]*,red,1,1,west:amber;east:red,a-ndvi/map.png," "$work/ref/batch.csv" ||
    { cat "$work/ref/batch.csv"; fail "a-ndvi row"; }
# every job that ran has its duration: in batch.csv (9th column), batch.json and the
# progress line (the failed job's comes from failed.json, the others' from the manifest)
awk -F, 'NR > 1 && $9 !~ /^[0-9]+\.[0-9][0-9][0-9]$/ { print "no seconds: " $0; bad = 1 }
         END { exit bad }' "$work/ref/batch.csv" || fail "job durations missing in batch.csv"
[[ $(grep -c '"seconds": [0-9]' "$work/ref/batch.json") == 6 ]] ||
    { grep '"seconds"' "$work/ref/batch.json"; fail "job durations missing in batch.json"; }
[[ $(grep -c '^\[[0-9]/6\] [a-z-]*: ok, .* in [0-9.]* s |' "$work/ref.err") == 5 ]] ||
    { cat "$work/ref.err"; fail "job durations missing in the progress lines"; }

# each zone's level follows from its own figures (amber: >= 1 ha, red: >= 10 %)
for j in a-ndvi b-ndvi c-fixed ab-ndwi; do
    awk -F, 'NR > 1 { want = $8 >= 10 ? "red" : ($7 >= 1 ? "amber" : "green");
                      if ($NF != want) { print FILENAME ": zone " $1 " is " $NF ", expected " want; bad = 1 } }
             END { exit bad }' "$work/ref/$j/zones.csv" || fail "alert levels of $j"
done

run "$gd" batch "$work/in/jobs.json" -o "$work/sh" --shard 0/3 -q
[[ $rc == 3 ]] || fail "shard 0/3 (holds 'fails'): exit $rc, expected 3"
[[ ! -e "$work/sh/batch.json" ]] || fail "a shard must not write the index"
[[ -d "$work/sh/a-ndvi" && -d "$work/sh/fails" && ! -e "$work/sh/b-ndvi" ]] || fail "shard 0/3 took the wrong jobs"
run "$gd" batch "$work/in/jobs.json" -o "$work/sh" --merge -q
[[ $rc == 3 ]] || fail "--merge with missing jobs: exit $rc"
grep -q '^b-ndvi,missing,' "$work/sh/batch.csv" || fail "missing job not listed as missing"
SLURM_ARRAY_TASK_ID=11 SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_COUNT=3 \
    run "$gd" batch "$work/in/jobs.json" -o "$work/sh" -q
[[ $rc == 0 ]] || fail "SLURM shard 1/3: exit $rc"
[[ -d "$work/sh/b-ndvi" && -d "$work/sh/ab-ndwi" && ! -e "$work/sh/c-fixed" ]] || fail "SLURM shard took the wrong jobs"
# Kubernetes Indexed Job: the count comes from the batch file's "shards" (3)
JOB_COMPLETION_INDEX=2 run "$gd" batch "$work/in/jobs.json" -o "$work/sh" -q
[[ $rc == 0 ]] || fail "JOB_COMPLETION_INDEX shard 2/3: exit $rc"
run "$gd" batch "$work/in/jobs.json" -o "$work/sh" --merge -q
[[ $rc == 3 ]] || fail "--merge: exit $rc, expected 3 (one job fails)"
diff <(index_without_seconds "$work/ref/batch.csv") <(index_without_seconds "$work/sh/batch.csv") ||
    fail "merged index differs from the unsharded run"
diff <(output_hashes "$work/ref") <(output_hashes "$work/sh") || fail "sharded outputs differ"

# ---- --resume after a changed job: only that job reruns
sed -e 's/"threshold": 0.2/"threshold": 0.25/' "$work/in/jobs.json" > "$work/in/changed.json"
run "$gd" batch "$work/in/changed.json" -o "$work/ref" --resume 2> "$work/resume.err"
[[ $(grep -c 'done already' "$work/resume.err") == 4 ]] || { cat "$work/resume.err"; fail "4 jobs should be reused"; }
grep -q '^\[[0-9]/6\] c-fixed: ok, ' "$work/resume.err" || fail "c-fixed should rerun"
echo "PASS"
