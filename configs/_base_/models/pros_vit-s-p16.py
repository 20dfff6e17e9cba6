# ProS with a ViT-S/16 (mmpretrain 'deit-small', patch 16, 224 px) student,
# an EMA teacher, a PrototypeHead (3-layer MLP to d=256, K=1024 prototypes)
# and ProSLoss (teacher 0.025, student 0.1, me-max weight 1), as Di et al.,
# WACV 2024. The face-aware crop filter is off here: `crop_filter` is left
# unset (not None, so that a child config can add the dict), see
# configs/pros/README.md.
embed_dims = 384
model = dict(
    type='ProS',
    num_global_views=2,
    backbone=dict(
        type='FastVisionTransformer',
        arch='deit-small',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        out_type='cls_token',
        final_norm=True),
    head=dict(
        type='PrototypeHead',
        in_channels=embed_dims,
        hidden_dim=2048,
        out_dim=256,
        num_prototypes=1024,
        num_layers=3),
    loss=dict(
        type='ProSLoss', teacher_temp=0.025, student_temp=0.1,
        me_max_weight=1.0),
    collapse_ratio=0.5)

# The hook that makes the teacher an EMA of the student (append to the
# runtime's: custom_hooks = _base_.custom_hooks + pros_hooks).
pros_hooks = [dict(type='TeacherEMAHook', momentum=0.996, end_momentum=1.0)]
