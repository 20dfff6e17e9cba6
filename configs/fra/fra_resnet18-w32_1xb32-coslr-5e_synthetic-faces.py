# FRA demo: a half-width ResNet-18 on 64-px SyntheticFaces, about 4 min on
# 2 shared CPU cores (use one thread: with 2 threads on a loaded machine a
# step took 7 s instead of 1-2 s).
#
#   OMP_NUM_THREADS=1 python tools/train.py \
#       configs/fra/fra_resnet18-w32_1xb32-coslr-5e_synthetic-faces.py
#
# Shows the losses falling (12.1 -> 5.6), the K = 8 facial heatmaps
# separating (heatmap_overlap in the log, the mean pairwise Bhattacharyya
# coefficient of the online heatmaps, 1 = all alike: 0.96 -> 0.71;
# pictures in vis_data/ and TensorBoard) and kNN identity accuracy on
# held-out identities (see README.md for the measured runs).
# Deviations from the paper-scale recipe (fra_resnet50_8xb128-coslr-400e_
# vggface2.py), all to fit ~150 CPU steps:
# - ResNet-18 with 32 base channels (256 out) and stage 4 at stride 1, on
#   64-px views, so the heatmaps are 4 x 4 as ResNet-50's at 128 px;
# - MLPs 512 hidden / 128 out, decoder width 64;
# - learnable query content in the mask decoder (query_content='learned',
#   Mask2Former's): with MaskFormer's zero content the 8 decoded
#   embeddings start nearly alike and the heatmaps stayed uniform
#   (overlap >= 0.98) under every collapse guard in 155 steps;
# - faces on a plain grey background (generator background='plain'),
#   100 identities x 10 images;
# - LARS lr 0.3 at batch 32 (no linear scaling: 1.8 x 32 / 1024 = 0.06
#   barely moves in 150 steps), 1 warm-up epoch, 5 epochs.
_base_ = [
    '../_base_/models/fra_resnet50.py',
    '../_base_/datasets/synthetic_faces_fra.py',
    '../_base_/schedules/fra_lars_cos.py',
    '../_base_/default_runtime.py',
]

view_size = 64
crop_scale = (0.08, 1.0)  # BYOL's; (0.2, 1.0) measured in README.md
max_epochs = 5
warmup_epochs = 1
proj_hidden = 512
proj_out = 128
feat_channels = 256
generator_cfg = dict(background='plain')


def mlp(in_channels, pool):
    return dict(
        type='NonLinearNeck',
        in_channels=in_channels,
        hid_channels=proj_hidden,
        out_channels=proj_out,
        num_layers=2,
        with_bias=True,
        with_last_bn=False,
        with_avg_pool=pool)


model = dict(
    backbone=dict(
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(1, 2, 2, 1),
        norm_cfg=dict(type='BN')),
    neck=mlp(feat_channels, True),
    head=dict(predictor=mlp(proj_out, False)),
    mask_decoder=dict(
        in_channels=feat_channels, embed_dims=64, num_heads=4,
        query_content='learned'),
    region_neck=mlp(feat_channels, False),
    region_predictor=mlp(proj_out, False))



def _resize(pipeline, size):
    # the base pipelines with every crop / resize at `size`
    out = []
    for t in pipeline:
        if t['type'] == 'MultiViewWithGeometry':
            views = [_resize(v, size) for v in t['transforms']]
            t = dict(t, transforms=views)
        elif t['type'] == 'LandmarkRandomResizedCrop':
            t = dict(t, scale=size, crop_ratio_range=crop_scale)
        elif t['type'] == 'Resize':
            t = dict(t, scale=(size, size))
        out.append(t)
    return out


_train = _resize(_base_.train_pipeline, view_size)
_val = _resize(_base_.val_pipeline, view_size)
train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        num_identities=100,
        images_per_identity=10,
        img_size=view_size,
        generator_cfg=generator_cfg,
        pipeline=_train))
val_dataloader = dict(
    dataset=dict(
        img_size=view_size, generator_cfg=generator_cfg, pipeline=_val))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=0.3))
auto_scale_lr = dict(enable=False)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=0.,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
custom_hooks = _base_.custom_hooks + [
    dict(type='ValidateAtStartHook'),
    # the K heatmaps over the first views, at the start and every 2 epochs
    dict(type='FRAHeatmapVisualizationHook', interval=2, num_samples=4),
]
default_hooks = dict(
    checkpoint=dict(interval=max_epochs), logger=dict(interval=5))
