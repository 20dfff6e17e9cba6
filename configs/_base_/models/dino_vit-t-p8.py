# DINO with a ViT-T/8 (mmpretrain 'deit-tiny', patch 8) student and an EMA
# teacher; head and loss as in Caron et al. 2021 (out_dim 65536).
# FastVisionTransformer is mmpretrain's VisionTransformer (same parameters,
# checkpoints and outputs) with a leaner training step; set
# backbone.type='VisionTransformer' to use mmpretrain's own forward.
# The data preprocessor comes from the dataset config (top-level
# `data_preprocessor`, merged into the model by the Runner).
embed_dims = 192
out_dim = 65536
model = dict(
    type='DINO',
    num_global_views=2,
    backbone=dict(
        type='FastVisionTransformer',
        arch='deit-tiny',
        img_size=112,
        patch_size=8,
        drop_path_rate=0.1,
        out_type='cls_token',
        final_norm=True),
    head=dict(
        type='DINOHead',
        in_channels=embed_dims,
        out_dim=out_dim,
        hidden_dim=2048,
        bottleneck_dim=256,
        num_layers=3,
        norm_last_layer=True,
        use_bn=False),
    loss=dict(
        type='DINOLoss',
        out_dim=out_dim,
        student_temp=0.1,
        teacher_temp=0.04,  # set every iteration by TeacherTempHook
        center_momentum=0.9))

# The hooks that make it DINO (keep the runtime's NaN guard and RNG hooks
# by appending: custom_hooks = _base_.custom_hooks + dino_hooks).
dino_hooks = [
    dict(type='TeacherEMAHook', momentum=0.996, end_momentum=1.0),
    dict(type='TeacherTempHook', start=0.04, end=0.04, warmup=30),
    dict(type='FreezeLastLayerHook', freeze_last_layer=1),
]
