#!/usr/bin/env bash
# SLURM smoke test: a single-node cluster on this machine runs experiments/sweep_cliff.toml as a
# 3-task job array plus a dependent merge job, and the merged outputs must equal an unsharded
# run byte for byte. Needs root (it installs Debian's slurm-wlm and munge when missing and starts
# munged, slurmctld and slurmd); stops its daemons on exit.
#
#   sudo scripts/slurm/smoke_test.sh            # from the repository root, after cargo build --release
set -euo pipefail
start=$(date +%s)
cd "$(dirname "$0")/../.."
root=$PWD
rlkit=$root/target/release/rlkit
[ -x "$rlkit" ] || { echo "build first: cargo build --release" >&2; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
fi
work=$(mktemp -d /tmp/rlkit-slurm.XXXXXX)
chmod 755 "$work"
conf=$work/etc
mkdir -p "$conf" "$work/spool/ctld" "$work/spool/d" "$work/log" "$work/munge" "$work/run"
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2/1024) - 512}' /proc/meminfo)
cat > "$conf/slurm.conf" <<CONF
ClusterName=rlkit-smoke
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
StateSaveLocation=$work/spool/ctld
SlurmdSpoolDir=$work/spool/d
SlurmctldPidFile=$work/run/slurmctld.pid
SlurmdPidFile=$work/run/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
# An empty cgroup.conf: slurm 22.05 has no "disabled" cgroup plugin, and autodetection works with
# proctrack/linuxproc + task/none even where cgroups are not delegated (containers).
: > "$conf/cgroup.conf"
export SLURM_CONF=$conf/slurm.conf
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
# munge: a fresh key and socket of our own.
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
munged --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
  --pid-file="$work/run/munged.pid" --log-file="$work/log/munged.log" --seed-file="$work/munge/seed" --force -F &
pids+=($!)
export MUNGE_SOCKET=$work/munge/munge.socket
sleep 1
# slurm's auth/munge plugin reads the socket from AuthInfo.
sed -i "s|^AuthType=auth/munge|AuthType=auth/munge\nAuthInfo=socket=$work/munge/munge.socket|" "$conf/slurm.conf"
slurmctld -D -f "$conf/slurm.conf" > "$work/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$conf/slurm.conf" > "$work/log/slurmd.out" 2>&1 &
pids+=($!)
up=no
for _ in $(seq 1 30); do
  sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc' && { up=yes; break; }
  sleep 1
done
sinfo
[ "$up" = yes ] || { echo "the node did not come up:" >&2; tail -n 5 "$work/log/slurmd.log" >&2; exit 1; }
exp=$root/experiments/sweep_cliff.toml
out=$work/out
ids=$(RLKIT=$rlkit scripts/slurm/submit.sh "$exp" 3 "$out")
echo "$ids"
merge=${ids##* }
for _ in $(seq 1 150); do
  state=$(scontrol show job "$merge" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 || true)
  case "$state" in
    COMPLETED) break ;;
    FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY)
      echo "merge job $state" >&2; cat "$out"/logs/*.err >&2 || true; exit 1 ;;
  esac
  sleep 1
done
[ "$state" = COMPLETED ] || { echo "timed out waiting for the merge job (state $state)" >&2; exit 1; }
"$rlkit" run "$exp" --out "$work/unsharded" -q
for f in episodes.csv values.csv policy.csv summary.json plots/sweep.png; do
  cmp "$out/merged/$f" "$work/unsharded/$f"
done
echo "slurm smoke test: merged == unsharded ($(($(date +%s) - start)) s)"
rm -rf "$work"
