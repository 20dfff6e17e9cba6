# ProS CPU demo: ViT-T/8 on SyntheticFaces, a few minutes on 2 CPU cores.
#
#   python tools/train.py \
#       configs/pros/pros_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py
#
# The log shows `loss`, `cross_entropy`, `assign_entropy` (entropy of the
# batch-mean student assignment; log 1024 = 6.93 is its maximum, a warning
# is logged below 0.5 * log K) and `num_dropped_crops` (0 without a crop
# filter). Deviations from the paper-scale config (pros_vit-s-p16_8xb32-
# coslr-20e_synthetic-faces.py), to fit ~250 CPU steps, as the DINO demo:
# ViT-T/8 at 48-px global / 24-px local views (2 local views, crop scale
# 0.15-0.4), plain-background faces, 100 training identities x 10
# images, an MLP hidden width of 512, 1 warm-up epoch of 8, no lr scaling
# by batch and a faster teacher (momentum 0.99 -> 1).
_base_ = [
    '../_base_/models/pros_vit-s-p16.py',
    '../_base_/datasets/synthetic_faces_dino.py',
    '../_base_/datasets/synthetic_faces_eval.py',
    '../_base_/schedules/pros_adamw_cos.py',
    '../_base_/default_runtime.py',
]

global_size = 48
local_size = 24
num_local_views = 2
local_crop_scale = (0.15, 0.4)
max_epochs = 8
warmup_epochs = 1
generator_cfg = dict(background='plain')


def _resize(pipeline, size, crop_scale=None):
    # the base view pipelines with another RandomResizedCrop size (scale)
    crop = dict(scale=size)
    if crop_scale is not None:
        crop['crop_ratio_range'] = crop_scale
    return [
        dict(t, **crop) if t['type'] == 'RandomResizedCrop' else t
        for t in pipeline
    ]


model = dict(
    backbone=dict(arch='deit-tiny', img_size=global_size, patch_size=8),
    head=dict(in_channels=192, hidden_dim=512))

train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        num_identities=100,
        images_per_identity=10,
        generator_cfg=generator_cfg,
        pipeline=[
            dict(
                type='MultiViewWithGeometry',
                num_views=[1, 1, num_local_views],
                transforms=[
                    _resize(_base_.global_geometric, global_size),
                    _resize(_base_.global_geometric, global_size),
                    _resize(_base_.local_geometric, local_size,
                            local_crop_scale),
                ]),
            dict(type='PackInputs', meta_keys=('num_views', )),
        ]))
# colour jitter, grayscale, blur and solarise batched on the model's device
# (the per-image path: _base_.global_pipeline1/2 and local_pipeline in a
# MultiView). A face-aware crop filter also needs the un-augmented crops:
# add data_preprocessor=dict(append_unaugmented=True) next to
# model.crop_filter (tools/analysis/pros_report.py --filter-checkpoint
# does).
data_preprocessor = dict(
    type='MultiViewPhotometricPreprocessor',
    view_groups=[
        dict(_base_.global_photometric1, num_views=1),
        dict(_base_.global_photometric2, num_views=1),
        dict(_base_.local_photometric, num_views=num_local_views),
    ])
val_pipeline = [
    dict(
        type='ResizeEdge',
        scale=global_size,
        edge='short',
        interpolation='bicubic',
        backend='pillow'),
    dict(type='CenterCrop', crop_size=global_size),
    dict(type='PackInputs'),
]
val_dataloader = dict(
    batch_size=64,
    dataset=dict(generator_cfg=generator_cfg, pipeline=val_pipeline))
test_dataloader = val_dataloader

auto_scale_lr = dict(enable=False)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.2,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)

custom_hooks = _base_.custom_hooks + [
    dict(type='TeacherEMAHook', momentum=0.99, end_momentum=1.0),
    dict(type='ValidateAtStartHook'),
]
default_hooks = dict(
    checkpoint=dict(interval=max_epochs), logger=dict(interval=5))
