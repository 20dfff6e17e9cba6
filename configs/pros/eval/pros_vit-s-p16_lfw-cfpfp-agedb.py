# Test a checkpoint trained with
#   configs/pros/pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces.py
# on LFW, CFP-FP and AgeDB-30 (insightface .bin files, 10-fold
# accuracy and TAR@FAR=1e-3).
# Embedding: the EMA teacher's ViT-S/16 class token, on faces resized to 224.
#
#   CFG=configs/pros/eval/pros_vit-s-p16_lfw-cfpfp-agedb.py
#   python tools/test.py $CFG CHECKPOINT --cfg-options \
#       test_dataloader.dataset.data_root=data/faces_emore
_base_ = [
    '../../_base_/models/pros_vit-s-p16.py',
    '../../_base_/datasets/eval_lfw-cfpfp-agedb.py',
    '../../_base_/default_runtime.py',
]

# faces resized to the training size before packing
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='Resize', scale=224, backend='pillow',
             interpolation='bicubic'),
    ] + _base_.eval_bin_pipeline))
