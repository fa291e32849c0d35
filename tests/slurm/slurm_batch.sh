#!/usr/bin/env bash
# slurm_batch.sh: starts a private single-node Slurm (munge + slurmctld + slurmd on their
# own ports, state in WORKDIR), runs a batch as a job array through
# scripts/slurm/run-array.sh --wait (sbatch --array --wait, then a dependent --merge job)
# and checks that the merged index and outputs equal an unsharded run's.
# Exit 77 (skipped) when the daemons cannot be started here (not root, no slurm-wlm/munge).
# usage: slurm_batch.sh GEODELTA GD_MAKE_SAMPLES WORKDIR
set -euo pipefail
gd="$(realpath "$1")" gen="$2" work="$3"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/tests/e2e/batch_common.sh"

skip() { echo "SKIP: $*"; exit 77; }
((EUID == 0)) || skip "needs root to start munged/slurmctld/slurmd"
for c in munged slurmctld slurmd sbatch sinfo; do
    command -v "$c" >/dev/null || skip "$c not installed (Debian: apt-get install slurm-wlm munge)"
done

rm -rf "$work"
mkdir -p "$work/etc" "$work/state" "$work/spool" "$work/log" "$work/munge"
pids=()
cleanup() {
    # munged first by its own pid file (runuser, its parent, then exits quietly)
    [[ -s "$work/munge/munged.pid" ]] && kill "$(cat "$work/munge/munged.pid")" 2>/dev/null || true
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# ---- munge with a private key and socket
chown munge: "$work/munge" 2>/dev/null || skip "no munge user"
chmod 0755 "$work/munge" # the socket must be reachable by every user
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chown munge: "$work/munge/munge.key" && chmod 0400 "$work/munge/munge.key"
sock="$work/munge/munge.sock"
runuser -u munge -- munged -F --key-file="$work/munge/munge.key" --socket="$sock" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
    --seed-file="$work/munge/munged.seed" 2>"$work/munge/munged.err" &
pids+=($!)
for _ in $(seq 50); do [[ -S "$sock" ]] && break; sleep 0.1; done
[[ -S "$sock" ]] || skip "munged did not start: $(tail -n 3 "$work/munge/munged.log" 2>/dev/null)"

# ---- slurm.conf: one node, private ports, no accounting, no cgroups
ncpu=$(nproc)
mem=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
mem=$(( ${mem:-2048} > 2048 ? ${mem:-2048} - 1024 : 1024 ))
port=$((17000 + RANDOM % 2000))
cat > "$work/etc/slurm.conf" <<CONF
ClusterName=geodelta-test
SlurmctldHost=localhost
SlurmUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MailProg=/bin/true
SchedulerParameters=sched_interval=1
NodeName=localhost CPUs=$ncpu RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/etc/slurm.conf"
slurmctld -D -i -f "$SLURM_CONF" >"$work/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" >"$work/log/slurmd.out" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 100); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed)'; then up=1; break; fi
    sleep 0.2
done
((up)) || skip "slurm did not come up: $(tail -n 3 "$work/log/slurmctld.log" "$work/log/slurmd.log" 2>/dev/null | tr '\n' ' ')"
echo "slurm up: $(sinfo -h -o '%N %T %c CPUs')"

# ---- the batch: unsharded reference, then 3 array tasks + merge through Slurm
make_batch_inputs "$gen" "$work/in"
set +e
"$gd" batch "$work/in/jobs.json" -o "$work/ref" -q
[[ $? == 3 ]] || { echo "FAIL: reference run should exit 3 (one job fails)"; exit 1; }
"$root/scripts/slurm/run-array.sh" --wait --geodelta "$gd" "$work/in/jobs.json" "$work/out" 3 -- \
    --time=5 --cpus-per-task=1
rc=$?
set -e
[[ $rc == 3 ]] || { echo "FAIL: merge job exit $rc, expected 3"; cat "$work/out"/slurm-*.log; exit 1; }
logs=$(ls "$work/out"/slurm-*_*.log | wc -l)
[[ $logs == 3 ]] || { echo "FAIL: $logs array task logs, expected 3"; exit 1; }
grep -h '^shard' "$work/out"/slurm-*_*.log | sort
diff <(index_without_seconds "$work/ref/batch.csv") <(index_without_seconds "$work/out/batch.csv") ||
    { echo "FAIL: merged index differs from the unsharded run"; exit 1; }
diff <(output_hashes "$work/ref") <(output_hashes "$work/out") ||
    { echo "FAIL: outputs differ"; exit 1; }
echo "PASS"
