# Facial expression (RAF-DB protocol, 7 basic classes) on a pretrained
# ResNet-50 (e.g. FRA): the ResNet-50 attribute config (backbone, global
# average pooling, AdamW lr 5e-4, weight decay 0.05, warm-up + cosine) with
# a 7-way linear layer and cross-entropy; accuracy and mean class accuracy
# (ExpressionAccuracy). Data and labels: see
# expression_vit-t-p8-linear_1xb32-20e_synthetic-faces.py.
#
#   CFG=configs/downstream/expression_resnet50-linear_1xb32-20e_synthetic-faces.py
#   python tools/train.py $CFG --cfg-options \
#       model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_400.pth
#   python tools/test.py $CFG work_dirs/$(basename $CFG .py)/epoch_20.pth
_base_ = ['./attributes_resnet50-linear_1xb32-20e_synthetic-faces.py']

data_root = 'data/synthetic_downstream/annotations/RAF-DB'
num_classes = 7  # RAF-DB basic expressions

model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=_base_.feat_channels,
        loss=dict(type='CrossEntropyLoss'),
        _delete_=True))

expressions = dict(type='RAFDB', data_root=data_root, _delete_=True)
train_dataloader = dict(
    dataset=dict(expressions, split='train',
                 pipeline=_base_.train_pipeline))
val_dataloader = dict(
    dataset=dict(expressions, split='test', pipeline=_base_.test_pipeline))
val_evaluator = dict(type='ExpressionAccuracy')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
