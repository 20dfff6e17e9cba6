# Test a checkpoint trained with
#   configs/dino/dino_vit-t-p8_4xb64-coslr-100e_ms1m.py
# on IJB-C 1:1 (TAR@FAR 1e-6 .. 1e-1, insightface template pooling).
# Embedding: the EMA teacher's ViT-T/8 class token.
#
#   CFG=configs/dino/eval/dino_vit-t-p8_ijbc.py
#   python tools/test.py $CFG CHECKPOINT --cfg-options \
#       test_dataloader.dataset.data_root=data/IJB_release/IJBC \
#       test_evaluator.data_root=data/IJB_release/IJBC
_base_ = [
    '../../_base_/models/dino_vit-t-p8.py',
    '../../_base_/datasets/eval_ijbc.py',
    '../../_base_/default_runtime.py',
]
