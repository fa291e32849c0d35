#!/usr/bin/env bash
# run-array.sh: runs a geodelta batch file as a Slurm job array (one shard per task), then
# a dependent job that merges the shards' folders into OUTROOT/batch.json and batch.csv.
#
# usage: scripts/slurm/run-array.sh [--wait] [--jobs-per-task N] [--geodelta PATH]
#                                   JOBS.json OUTROOT NSHARDS [-- SBATCH-OPTIONS...]
#   --wait            block until the merge job ends; exit with the merge's exit code
#                     (0 = every job ok, 3 = some failed)
#   --jobs-per-task N concurrent jobs inside one array task (geodelta batch --jobs N;
#                     default 1). Ask for as many CPUs: -- --cpus-per-task=N
#   --geodelta PATH   the geodelta binary on the compute nodes (default: geodelta in PATH)
# OUTROOT must be on a file system every node sees. Each array task reads its shard from
# SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT; rerunning the script resumes (--resume).
set -euo pipefail

wait_flag=() per_task=1 gd=geodelta
while (($#)); do
    case "$1" in
        --wait) wait_flag=(--wait); shift ;;
        --jobs-per-task) per_task="$2"; shift 2 ;;
        --geodelta) gd="$2"; shift 2 ;;
        -h|--help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) break ;;
    esac
done
if (($# < 3)); then
    echo "run-array.sh: need JOBS.json OUTROOT NSHARDS (see --help)" >&2
    exit 1
fi
jobs_file="$(realpath "$1")" outroot="$2" n="$3"
shift 3
[[ "${1:-}" == "--" ]] && shift
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "run-array.sh: NSHARDS must be a positive integer" >&2; exit 1; }
gd="$(command -v "$gd" || echo "$gd")"
mkdir -p "$outroot"
outroot="$(realpath "$outroot")"

# the whole file is validated once here, before anything is queued
"$gd" batch "$jobs_file" --check -q

q() { printf '%q ' "$@"; }
# with --wait the array is waited for too (sbatch --array --wait); a shard holding a
# failed job exits 3, which is the merge's business, not an error of this script
set +e
sbatch --parsable --job-name=geodelta-batch --array="0-$((n - 1))" \
    --output="$outroot/slurm-%A_%a.log" "${wait_flag[@]}" "$@" \
    --wrap="$(q "$gd" batch "$jobs_file" -o "$outroot" --jobs "$per_task" --resume)" \
    > "$outroot/.array-id"
rc=$?
set -e
array_id="$(head -n1 "$outroot/.array-id")"
array_id="${array_id%%;*}"
rm -f "$outroot/.array-id"
if [[ -z "$array_id" ]]; then
    echo "run-array.sh: sbatch failed (exit $rc)" >&2
    exit 1
fi
echo "run-array.sh: array job $array_id (${n} shards) -> $outroot"

set +e
sbatch --parsable --job-name=geodelta-merge --dependency="afterany:$array_id" \
    --output="$outroot/slurm-merge-%j.log" "${wait_flag[@]}" "$@" \
    --wrap="$(q "$gd" batch "$jobs_file" -o "$outroot" --merge)" > "$outroot/.merge-id"
rc=$?
set -e
echo "run-array.sh: merge job $(cat "$outroot/.merge-id") (after $array_id)"
rm -f "$outroot/.merge-id"
exit "$rc"
