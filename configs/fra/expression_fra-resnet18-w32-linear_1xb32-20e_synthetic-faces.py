# Expression (RAF-DB protocol) from the FRA demo checkpoint (half-width
# ResNet-18, stage 4 at stride 1): the ResNet-50 expression config with
# the demo's backbone.
#
#   python tools/train.py \
#       configs/fra/expression_fra-resnet18-w32-linear_1xb32-20e_synthetic-faces.py
_base_ = [
    '../downstream/expression_resnet50-linear_1xb32-20e_synthetic-faces.py'
]

pretrained = ('work_dirs/fra_resnet18-w32_1xb32-coslr-5e_synthetic-faces/'
              'epoch_5.pth')
model = dict(
    backbone=dict(
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(1, 2, 2, 1),
        init_cfg=dict(checkpoint=pretrained)),
    head=dict(in_channels=256))
