# Test a checkpoint trained with
#   configs/pros/pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces.py
# on IJB-C 1:1 (TAR@FAR 1e-6 .. 1e-1, insightface template pooling).
# Embedding: the EMA teacher's ViT-S/16 class token, on faces resized to 224.
#
#   CFG=configs/pros/eval/pros_vit-s-p16_ijbc.py
#   python tools/test.py $CFG CHECKPOINT --cfg-options \
#       test_dataloader.dataset.data_root=data/IJB_release/IJBC \
#       test_evaluator.data_root=data/IJB_release/IJBC
_base_ = [
    '../../_base_/models/pros_vit-s-p16.py',
    '../../_base_/datasets/eval_ijbc.py',
    '../../_base_/default_runtime.py',
]

# faces resized to the training size before packing
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='Resize', scale=224, backend='pillow',
             interpolation='bicubic'),
    ] + _base_.eval_ijb_pipeline))
