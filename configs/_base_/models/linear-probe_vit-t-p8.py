# Linear probe of a ViT-T/8 pretrained by a facessl SSL method (DINO, ...):
# FrozenBackboneClassifier freezes the backbone (eval mode, no gradient) and
# loads it strictly from an SSL checkpoint; a BatchNorm without affine on
# the cls token (mmpretrain's MAE linear probe, ClsBatchNormNeck) and a
# linear layer are trained.
#
# Set the checkpoint in the child config or on the command line:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_N.pth
# prefix 'teacher.backbone.' probes DINO's teacher (what DINO evaluates);
# 'backbone.' probes the student.
embed_dims = 192
num_classes = 1000
model = dict(
    type='FrozenBackboneClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_classes,
        mean=[127.5, 127.5, 127.5],  # as the SSL configs
        std=[127.5, 127.5, 127.5],
        to_rgb=True),  # facessl datasets yield BGR
    backbone=dict(
        type='FastVisionTransformer',
        arch='deit-tiny',
        img_size=112,
        patch_size=8,
        out_type='cls_token',
        final_norm=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=None,
            prefix='teacher.backbone.')),
    neck=dict(type='ClsBatchNormNeck', input_features=embed_dims),
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=embed_dims,
        loss=dict(type='CrossEntropyLoss'),
        topk=(1, 5)))
