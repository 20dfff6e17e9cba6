# A tiny DINO (ViT with 1 block, 16-px faces) for feature-extraction tests.
_base_ = ['../../../configs/_base_/default_runtime.py']

embed_dims = 16
out_dim = 32
model = dict(
    type='DINO',
    backbone=dict(
        type='FastVisionTransformer',
        arch=dict(
            embed_dims=embed_dims,
            num_layers=1,
            num_heads=2,
            feedforward_channels=32),
        img_size=16,
        patch_size=8,
        out_type='cls_token'),
    head=dict(
        type='DINOHead',
        in_channels=embed_dims,
        out_dim=out_dim,
        hidden_dim=24,
        bottleneck_dim=8),
    loss=dict(type='DINOLoss', out_dim=out_dim))
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    to_rgb=True)

val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='SyntheticFaces',
        num_identities=3,
        images_per_identity=3,
        img_size=16,
        identity_offset=10,
        pipeline=[dict(type='PackInputs')]))
val_evaluator = dict(type='KNNAccuracy', k=2)
val_cfg = dict()
