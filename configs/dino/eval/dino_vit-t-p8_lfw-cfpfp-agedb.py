# Test a checkpoint trained with
#   configs/dino/dino_vit-t-p8_4xb64-coslr-100e_ms1m.py
# on LFW, CFP-FP and AgeDB-30 (insightface .bin files, 10-fold
# accuracy and TAR@FAR=1e-3).
# Embedding: the EMA teacher's ViT-T/8 class token.
#
#   CFG=configs/dino/eval/dino_vit-t-p8_lfw-cfpfp-agedb.py
#   python tools/test.py $CFG CHECKPOINT --cfg-options \
#       test_dataloader.dataset.data_root=data/faces_emore
_base_ = [
    '../../_base_/models/dino_vit-t-p8.py',
    '../../_base_/datasets/eval_lfw-cfpfp-agedb.py',
    '../../_base_/default_runtime.py',
]
