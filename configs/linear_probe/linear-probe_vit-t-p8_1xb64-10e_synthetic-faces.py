# Linear probe of the ViT-T/8 DINO demo's teacher on synthetic identities,
# after training
# configs/dino/dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py with
# tools/train.py (its last checkpoint is the default below):
#
#   python tools/train.py \
#       configs/linear_probe/linear-probe_vit-t-p8_1xb64-10e_synthetic-faces.py
#
# Another checkpoint: --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (prefix 'teacher.backbone.' probes DINO's teacher, 'backbone.' the
# student: model.backbone.init_cfg.prefix=backbone.). The network of
# `make demo` is a ResNet: linear-probe_resnet18-w32_1xb64-10e_synthetic-
# faces.py.
#
# Identity classification of the demo's 50 held-out identities (ids
# 500-549, never seen in DINO pretraining): a linear classifier on the
# frozen teacher's cls token is trained on 20 images per identity and
# tested on 10 other images of the same identities. Faces are rendered at
# 112 px on a plain background and resized to 48 px, as in the demo's
# validation.
# Deviations from DINO's linear evaluation (SGD lr 1e-3 x batch / 256, 100
# epochs, random-resized crops, cls tokens of the last 4 blocks for ViT-S):
# a BatchNorm-normalised last cls token, lr 0.1 and 10 epochs (1000 images),
# flips only (faces are aligned).
_base_ = [
    '../_base_/models/linear-probe_vit-t-p8.py',
    '../_base_/default_runtime.py',
]

face_size = 112
img_size = 48
identity_offset = 500  # the DINO demo's validation identities
num_identities = 50
train_images = 20
test_images = 10

model = dict(
    data_preprocessor=dict(num_classes=num_identities),
    backbone=dict(
        img_size=img_size,
        init_cfg=dict(
            checkpoint='work_dirs/dino_vit-t-p8_1xb32-coslr-8e_'
            'synthetic-faces/epoch_8.pth')),
    head=dict(num_classes=num_identities))

resize = [
    dict(
        type='ResizeEdge',
        scale=img_size,
        edge='short',
        interpolation='bicubic',
        backend='pillow'),
    dict(type='CenterCrop', crop_size=img_size),
]
train_pipeline = resize + [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = resize + [dict(type='PackInputs')]
faces = dict(
    type='SyntheticFaces',
    num_identities=num_identities,
    img_size=face_size,
    seed=0,
    identity_offset=identity_offset,
    generator_cfg=dict(background='plain'))

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        faces, images_per_identity=train_images, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        faces,
        images_per_identity=test_images,
        image_offset=train_images,  # other images of the same identities
        pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

max_epochs = 10
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        eta_min=0.,
        convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(interval=max_epochs), logger=dict(interval=5))
