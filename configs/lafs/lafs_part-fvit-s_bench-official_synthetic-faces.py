# LAFS step benchmark at the work of one training step of the official
# DINO code (facebookresearch/dino) on faces: ViT-S/8, 2 x 112 + 8 x 48
# crops, 65 536-d head, batch 16. Part fViT-S (384 wide, 12 layers,
# 6 heads, 8-px patches) sees the same token counts: 196 landmarks on each
# of the 2 global views (= the 14 x 14 patches of a 112-px view) and 36 on
# each of the 8 local views (= the 6 x 6 patches of a 48-px view). On top
# of that work LAFS runs its frozen landmark CNN (MobileNetV3-Large) on
# all 10 geometric views and samples the patches with grid_sample.
# For tools/analysis/benchmark.py, not for training: the landmark CNN
# keeps random weights (no stage-1 checkpoint needed to time a step).
_base_ = [
    '../_base_/models/lafs_part-fvit-t.py',
    '../_base_/datasets/synthetic_faces_lafs.py',
    '../_base_/schedules/dino_adamw_cos.py',
    '../_base_/default_runtime.py',
]

model = dict(
    landmark_cnn_checkpoint=None,
    backbone=dict(arch='small'),
    head=dict(in_channels=384, out_dim=65536),
    loss=dict(out_dim=65536))

train_dataloader = dict(batch_size=16)
custom_hooks = _base_.custom_hooks + _base_.lafs_hooks
