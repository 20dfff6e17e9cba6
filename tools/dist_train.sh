#!/usr/bin/env bash
# Distributed training:  tools/dist_train.sh CONFIG NPROC [train.py args]
# NPROC processes on this node (one per GPU; on a CPU-only machine gloo is
# used instead of NCCL). Multi-node: run the same command on every node
# with NNODES, NODE_RANK (0 .. NNODES-1), MASTER_ADDR (the rank-0 node)
# and PORT set. Python: $PYTHON, else the repository's .venv, else python3.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NPROC [train.py args]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
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
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
