#!/usr/bin/env bash
# Distributed evaluation:  tools/dist_test.sh CONFIG CHECKPOINT NPROC [args]
# Same environment as dist_train.sh: NNODES, NODE_RANK, MASTER_ADDR, PORT
# for several nodes; Python from $PYTHON, else .venv, else python3.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NPROC [test.py args]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
. "$(dirname "$0")/find_python.sh"
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}

exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$NPROC" \
    "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch \
    "${@:4}"
