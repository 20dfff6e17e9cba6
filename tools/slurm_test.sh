#!/usr/bin/env bash
# SLURM evaluation:  tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT
#                        [args]
# Every argument after CHECKPOINT goes to tools/test.py unchanged (e.g.
# --work-dir DIR --out metrics.json --cfg-options k=v). The work dir is
# the --work-dir flag or the WORK_DIR variable (the flag wins).
# Environment: GPUS (8 tasks in all), GPUS_PER_NODE (8; 0 on CPU nodes:
# no --gres), CPUS_PER_TASK (5), SRUN_ARGS (extra srun options), PYTHON.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
. "$(dirname "$0")/find_python.sh"
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
EXTRA=()
if [ "$GPUS_PER_NODE" -gt 0 ]; then
    EXTRA+=(--gres=gpu:"$GPUS_PER_NODE" --ntasks-per-node="$GPUS_PER_NODE")
fi
WORK=()
if [ -n "${WORK_DIR:-}" ]; then
    WORK=(--work-dir "$WORK_DIR")
fi

# shellcheck disable=SC2086
exec srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    "${EXTRA[@]}" \
    --ntasks="$GPUS" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" \
    --launcher slurm "${WORK[@]}" "${@:5}"
