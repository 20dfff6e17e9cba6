# A tiny identity classifier built from the example plugin's components:
# mmpretrain's ImageClassifier with a CIFAR-style ResNet-18 (3x3 stem, no
# max-pool, narrow stages), the plugin's NormLinearClsHead (cosine logits)
# and RandomFaceCutout (face occlusion), on facessl's SyntheticFaces.
# One epoch of 4 iterations: well under a minute on one CPU core.
_base_ = ['../../../configs/_base_/default_runtime.py']

# The custom_imports route: importing the plugin registers its components.
# (Installed with its entry point, facessl would import it without this.)
custom_imports = dict(
    imports=['facessl_example_plugin'], allow_failed_imports=False)

num_identities = 4
img_size = 32

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_identities,
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        to_rgb=True),
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=4,
        out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='NormLinearClsHead',
        num_classes=num_identities,
        in_channels=128,
        scale=16.0,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        cal_acc=True))

train_pipeline = [
    dict(
        type='RandomFaceCutout',
        prob=0.5,
        area_ratio=(0.05, 0.2),
        face_region=(0.25, 0.25, 0.75, 0.75)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='SyntheticFaces',
        num_identities=num_identities,
        images_per_identity=8,
        img_size=img_size,
        seed=0,
        pipeline=train_pipeline))

train_cfg = dict(by_epoch=True, max_epochs=1)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))

default_hooks = dict(logger=dict(interval=1))
