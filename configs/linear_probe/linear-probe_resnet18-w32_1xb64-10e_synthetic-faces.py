# Linear probe of the `make demo` network: the DINO ResNet-18-w32 of
# configs/dino/dino_resnet18-w32_1xb32-coslr-40e_synthetic-faces.py, which
# tools/demo.py trains into work_dirs/demo/ (its last checkpoint,
# epoch_40.pth, is the default below):
#
#   python tools/train.py \
#       configs/linear_probe/linear-probe_resnet18-w32_1xb64-10e_synthetic-faces.py
#
# The same protocol as linear-probe_vit-t-p8_1xb64-10e_synthetic-faces.py
# (the demo's 50 held-out identities, 20 train / 10 test images each, 48
# px), on the frozen teacher's globally average-pooled last map (256-d),
# which is what DINO's ResNet feeds its head.
_base_ = ['./linear-probe_vit-t-p8_1xb64-10e_synthetic-faces.py']

feat_channels = 256

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ResNet',
        depth=18,
        stem_channels=32,
        base_channels=32,
        norm_cfg=dict(type='BN'),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/demo/epoch_40.pth',  # `make demo`
            prefix='teacher.backbone.')),
    neck=dict(_delete_=True, type='mmpretrain.GlobalAveragePooling'),
    head=dict(in_channels=feat_channels))
