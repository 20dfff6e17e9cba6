# Facial expression (RAF-DB protocol, 7 basic classes): a linear layer on
# the layer-normed cls token of a pretrained ViT-T/8, fine-tuned with
# cross-entropy, AdamW lr 5e-4, weight decay 0.05, layer-wise lr decay
# 0.65; accuracy and mean class accuracy (ExpressionAccuracy) on RAF-DB's
# test images.
#
# Data (the RAF-DB layout of synthetic faces rendered at 64 px; labels
# follow the rendered face: smiling -> Happiness, else mouth open ->
# Surprise, else Neutral, so 3 of the 7 classes occur and the mean class
# accuracy is over those 3; see
# facessl.datasets.synthetic.export_annotations):
#   python tools/misc/make_synthetic_faces.py --out data/synthetic_downstream \
#       --num-identities 60 --images-per-identity 10 --img-size 64 \
#       --formats annotations
# Train / test (pretrained checkpoint and its prefix as variables below or
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
#                 model.backbone.init_cfg.prefix=backbone.):
#   CFG=configs/downstream/expression_vit-t-p8-linear_1xb32-20e_synthetic-faces.py
#   python tools/train.py $CFG
#   python tools/test.py $CFG \
#       work_dirs/$(basename $CFG .py)/epoch_20.pth
#
# A linear probe instead of fine-tuning: model.type='FrozenBackboneClassifier'.
# Paper-size variants: expression_vit-s-p16-linear_8xb32-20e_rafdb.py (7
# classes) and expression_vit-s-p16-linear_8xb32-20e_affectnet.py (8).
# Deviations: 64 px synthetic faces, 20 epochs, flips only.
_base_ = [
    '../_base_/schedules/downstream_adamw_layer-decay_20e.py',
    '../_base_/default_runtime.py',
]

# pretrained backbone: DINO/ProS/LAFS teachers 'teacher.backbone.',
# students and FRA/face-recognition models 'backbone.'
pretrained = ('work_dirs/dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces/'
              'epoch_8.pth')
pretrained_prefix = 'teacher.backbone.'
data_root = 'data/synthetic_downstream/annotations/RAF-DB'
img_size = 64
num_classes = 7  # RAF-DB basic expressions
embed_dims = 192

model = dict(
    type='FineTuneClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_classes,
        mean=[127.5, 127.5, 127.5],  # as the SSL configs
        std=[127.5, 127.5, 127.5],
        to_rgb=True),  # facessl datasets yield BGR
    backbone=dict(
        type='FastVisionTransformer',
        arch='deit-tiny',
        img_size=img_size,
        patch_size=8,
        out_type='cls_token',
        final_norm=True,  # the layer-normed cls token
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            prefix=pretrained_prefix)),
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=embed_dims,
        loss=dict(type='CrossEntropyLoss')))

train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
expressions = dict(type='RAFDB', data_root=data_root)

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(expressions, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(expressions, split='test', pipeline=test_pipeline))
val_evaluator = dict(type='ExpressionAccuracy')
test_dataloader = val_dataloader
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(interval={{_base_.max_epochs}}), logger=dict(interval=5))
