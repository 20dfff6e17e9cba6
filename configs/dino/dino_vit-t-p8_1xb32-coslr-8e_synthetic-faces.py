# DINO demo: ViT-T/8 on SyntheticFaces, a few minutes on 2 CPU cores.
#
#   python tools/train.py \
#       configs/dino/dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py
#
# Shows the kNN identity accuracy of the teacher's cls token on held-out
# identities rising above the randomly initialised network's (validation
# before training, ValidateAtStartHook, then after every epoch).
# Deviations from the paper-scale recipe (dino_vit-t-p8_4xb64-coslr-100e_
# ms1m.py), all to fit ~250 CPU steps; each was measured (kNN top-1/top-5
# on 50 held-out identities, random init -> pretrained):
# - faces with a plain grey background (generator background='plain'):
#   the default colourful textures are an image-specific cue shared by
#   the views of one image, so a short instance-level run learns the
#   background (kNN 4.4 -> 3.0 %); aligned real face crops are mostly face.
#   Pixel kNN alone rises from 13 % to 27 % without the textures;
# - views of 48 px (global) and 24 px (local, scale 0.15-0.4 instead of
#   0.05-0.4: a 5 % crop of a 48-px face is a few pixels of skin), and 2
#   local views instead of 6-10: ~10x cheaper per step;
# - 100 training identities x 10 images (31 iterations per epoch);
# - out_dim 1024 and batch norm in the head (DINO's ResNet variant): at
#   init the ViT's cls tokens of different faces have cosine 0.985, the
#   head's BN spreads the teacher's logits across the batch so that the
#   centred, sharpened targets are not uniform from the first step;
# - teacher temperature 0.04 throughout (0.02 learns faster but the
#   features it learns first are worse for identity: 7.8 -> 6.6 % top-1);
# - no lr scaling by batch size: lr 1e-3 at batch 32 (5e-4 left top-1 flat
#   at 7.8 -> 7.6 %, top-5 21.6 -> 29.8 %; 1e-3 gave 7.8 -> 10.2 % and
#   21.6 -> 28.6 %), 1 warm-up epoch and a faster teacher (momentum
#   0.99 -> 1) so that ~250 steps move it.
_base_ = [
    '../_base_/models/dino_vit-t-p8.py',
    '../_base_/datasets/synthetic_faces_dino.py',
    '../_base_/datasets/synthetic_faces_eval.py',
    '../_base_/schedules/dino_adamw_cos.py',
    '../_base_/default_runtime.py',
]

global_size = 48
local_size = 24
num_local_views = 2
local_crop_scale = (0.15, 0.4)
out_dim = 1024
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
    backbone=dict(img_size=global_size),
    head=dict(out_dim=out_dim, use_bn=True),
    loss=dict(out_dim=out_dim))

train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        num_identities=100,
        images_per_identity=10,
        generator_cfg=generator_cfg,
        pipeline=[
            dict(
                type='MultiView',
                num_views=[1, 1, num_local_views],
                transforms=[
                    _resize(_base_.global_geometric, global_size),
                    _resize(_base_.global_geometric, global_size),
                    _resize(_base_.local_geometric, local_size,
                            local_crop_scale),
                ]),
            dict(type='PackInputs'),
        ]))
# colour jitter, grayscale, blur and solarise batched on the model's device
# (the per-image path: _base_.global_pipeline1/2 and local_pipeline)
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


def _eval_at(loader, size):
    # an evaluation set of synthetic_faces_eval.py resized to `size`
    pipeline = [
        dict(t, scale=size) if t['type'] == 'Resize' else t
        for t in loader['dataset']['pipeline']
    ]
    return dict(loader, dataset=dict(loader['dataset'], pipeline=pipeline))


# verification .bin and IJB-style sets that tools/demo.py scores
synthetic_verification_dataloader = _eval_at(
    _base_.synthetic_verification_dataloader, global_size)
synthetic_ijb_dataloader = _eval_at(_base_.synthetic_ijb_dataloader,
                                    global_size)

optim_wrapper = dict(optimizer=dict(lr=1e-3))
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
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingWeightDecay',
        eta_min=0.4,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)

custom_hooks = _base_.custom_hooks + [
    dict(type='TeacherEMAHook', momentum=0.99, end_momentum=1.0),
    dict(type='TeacherTempHook', start=0.04, end=0.04, warmup=0),
    dict(type='FreezeLastLayerHook', freeze_last_layer=1),
    dict(type='ValidateAtStartHook'),
    # augmented views + teacher cls attention, at the start and every 4
    # epochs, into vis_data/vis_image/ and TensorBoard
    dict(type='SSLVisualizationHook', interval=4, num_samples=4, height=96),
]
default_hooks = dict(
    checkpoint=dict(interval=max_epochs), logger=dict(interval=5))
