#!/usr/bin/env bash
# facessl on a CUDA machine, in one go: the CUDA-marked tests, a short AMP
# training of each method, the DINO/LAFS reference step benchmarks in bf16,
# and the multi-crop pipeline benchmark with 8 workers; then one summary
# table. On a machine without CUDA it says so and exits 0.
#
#   bash tools/analysis/gpu_check.sh [OUT_DIR]     (default work_dirs/gpu_check)
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
OUT=${1:-work_dirs/gpu_check}
if ! "$PY" -c 'import torch' 2> /dev/null; then
  echo "gpu_check: $PY cannot import torch; run 'make install' or set PYTHON" >&2
  exit 2
fi
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "gpu_check: no CUDA device on this machine; nothing to check here."
  exit 0
fi
mkdir -p "$OUT"
summary="$OUT/summary.md"
device=$("$PY" -c 'import torch; print(torch.cuda.get_device_name(0))')
{
  echo "# facessl GPU check, $(date -u +%Y-%m-%d), $device"
  echo
  echo '| check | result | seconds |'
  echo '|---|---|---|'
} > "$summary"
status=0

run() {  # run NAME COMMAND...: log to OUT/NAME.log, one summary row
  local name=$1; shift
  local start=$SECONDS
  if "$@" > "$OUT/$name.log" 2>&1; then
    result=ok
  else
    result="FAILED (see $name.log)"; status=1
  fi
  echo "| $name | $result$(extra "$name") | $((SECONDS - start)) |" >> "$summary"
  echo "gpu_check: $name: $result"
}

extra() {  # the figure a benchmark printed, for the summary row
  case $1 in
    bench-*) grep -hE 'img/s|MFU' "$OUT/$1.log" | tr '\n' ' ' | sed 's/^/: /' ;;
    pipeline) grep -hE 'mmpretrain:|per-image$|DataLoader' "$OUT/$1.log" \
                | tr '\n' ' ' | sed 's/^/: /' ;;
  esac
}

run cuda-tests "$PY" -m pytest -q -p no:cacheprovider -m cuda tests

# a few AMP iterations of each method's CPU-sized config (one epoch)
short='train_cfg.max_epochs=1 default_hooks.checkpoint.interval=1'
while read -r cfg extra; do
  name=amp-$(basename "$cfg" .py)
  # shellcheck disable=SC2086
  run "$name" "$PY" tools/train.py "$cfg" --amp --work-dir "$OUT/$name" \
    --cfg-options $short $extra
done <<'CONFIGS'
configs/dino/dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py
configs/lafs/lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces.py model.landmark_cnn_checkpoint=None
configs/pros/pros_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py
configs/fra/fra_resnet18-w32_1xb32-coslr-5e_synthetic-faces.py
configs/berl/berl-stage1_iresnet18_curricularface_1xb16-3e_synthetic-faces.py
CONFIGS

run bench-dino "$PY" tools/analysis/benchmark.py \
  configs/dino/dino_vit-s-p8_bench-official_synthetic-faces.py \
  --device cuda --amp --steps 10 --warmup 3 --no-data
run bench-lafs "$PY" tools/analysis/benchmark.py \
  configs/lafs/lafs_part-fvit-s_bench-official_synthetic-faces.py \
  --device cuda --amp --steps 10 --warmup 3 --no-data
run pipeline "$PY" tools/analysis/benchmark_pipeline.py \
  configs/dino/dino_vit-t-p8_4xb64-coslr-100e_ms1m.py \
  --device cuda --images 512 --rounds 3 --batch-size 64 --workers 8

echo
cat "$summary"
exit $status
