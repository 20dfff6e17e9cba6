# The tiny DINO with a training set and schedule: 16-px faces, a 1-block
# ViT, two 16-px global and two 8-px local views, a few iterations; for
# tool tests that train (learning curves).
_base_ = ['./tiny-dino_synthetic-faces.py']

model = dict(head=dict(use_bn=True))
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    drop_last=True,
    dataset=dict(
        type='SyntheticFaces',
        num_identities=4,
        images_per_identity=2,
        img_size=16,
        pipeline=[
            dict(
                type='MultiView',
                num_views=[2, 2],
                transforms=[[
                    dict(type='RandomResizedCrop', scale=16,
                         crop_ratio_range=(0.5, 1.0)),
                ], [
                    dict(type='RandomResizedCrop', scale=8,
                         crop_ratio_range=(0.2, 0.5)),
                ]]),
            dict(type='PackInputs'),
        ]))
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))
param_scheduler = [dict(type='ConstantLR', factor=1.0)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=1)
custom_hooks = _base_.custom_hooks + [
    dict(type='TeacherEMAHook', momentum=0.9),
    dict(type='TeacherTempHook', start=0.04, end=0.04, warmup=0),
]
