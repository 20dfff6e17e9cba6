# A tiny supervised identity classifier for tool tests (seconds on CPU).
_base_ = ['../../../configs/_base_/default_runtime.py']

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=4,
        mean=[127.5] * 3,
        std=[127.5] * 3,
        to_rgb=True),
    backbone=dict(
        type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8,
        out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead', num_classes=4, in_channels=64,
        loss=dict(type='CrossEntropyLoss')))

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='SyntheticFaces', num_identities=4, images_per_identity=4,
        img_size=32, pipeline=[dict(type='PackInputs')]))
train_cfg = dict(by_epoch=True, max_epochs=1)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
default_hooks = dict(logger=dict(interval=1))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
