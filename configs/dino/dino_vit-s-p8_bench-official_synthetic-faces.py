# Step benchmark at exactly the work of one training step of the official
# DINO code (facebookresearch/dino) on faces: ViT-S/8 (deit-small, patch 8)
# with drop_path 0.1 on the student, 2 global views at 112 + 8 local at 48,
# DINO head with out_dim 65536, batch 16, AdamW, EMA teacher, per-parameter
# clipping at 3.0. For tools/analysis/benchmark.py, not for training.
_base_ = [
    '../_base_/models/dino_vit-t-p8.py',
    '../_base_/datasets/synthetic_faces_dino.py',
    '../_base_/schedules/dino_adamw_cos.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(arch='deit-small', img_size=112, patch_size=8,
                  drop_path_rate=0.1),
    head=dict(in_channels=384, out_dim=65536),
    loss=dict(out_dim=65536))

bench_batch_size = 16
train_dataloader = dict(
    batch_size=bench_batch_size,
    dataset=dict(pipeline=[
        dict(
            type='MultiView',
            num_views=[1, 1, 8],
            transforms=[
                _base_.global_pipeline1, _base_.global_pipeline2,
                _base_.local_pipeline
            ]),
        dict(type='PackInputs'),
    ]))
custom_hooks = _base_.custom_hooks + _base_.dino_hooks
