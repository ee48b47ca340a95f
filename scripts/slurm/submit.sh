#!/usr/bin/env bash
# Submit a sweep as a SLURM job array plus a merge job that runs after every task succeeded.
#
#   scripts/slurm/submit.sh EXP.toml SHARDS OUT_DIR [extra sbatch args...]
#
# Task i of the array runs `rlkit run EXP.toml --out OUT_DIR/shard_i --resume`; rlkit takes its
# shard (i/SHARDS) from SLURM_ARRAY_TASK_ID/_MIN/_STEP/_COUNT. Re-submitting after a failure
# skips finished runs (--resume). The merge job (`--dependency=afterok:<array>`) writes the
# ordinary CSVs, summary.json and plots to OUT_DIR/merged. Prints the two job ids.
set -euo pipefail
exp=${1:?usage: submit.sh EXP.toml SHARDS OUT_DIR [sbatch args...]}
shards=${2:?number of shards}
out=${3:?output directory}
shift 3
rlkit=${RLKIT:-$(command -v rlkit || echo target/release/rlkit)}
mkdir -p "$out/logs"
array=$(sbatch --parsable "$@" --job-name=rlkit-sweep --array="1-$shards" \
  --output="$out/logs/shard_%a.out" --error="$out/logs/shard_%a.err" \
  --wrap="\"$rlkit\" run \"$exp\" --out \"$out/shard_\$SLURM_ARRAY_TASK_ID\" --resume -q")
array=${array%%;*}
shard_dirs=$(for i in $(seq 1 "$shards"); do printf '"%s/shard_%s" ' "$out" "$i"; done)
merge=$(sbatch --parsable "$@" --job-name=rlkit-merge --dependency="afterok:$array" \
  --output="$out/logs/merge.out" --error="$out/logs/merge.err" \
  --wrap="\"$rlkit\" merge $shard_dirs--out \"$out/merged\"")
merge=${merge%%;*}
echo "array $array merge $merge"
