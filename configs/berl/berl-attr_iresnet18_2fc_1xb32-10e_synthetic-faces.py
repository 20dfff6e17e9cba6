# 3D-BERL attribute transfer, CPU demo: the face-recognition backbone of a
# 3D-BERL run (IResNet, 512-d embedding) frozen, two FC layers
# (MultiLabelMLPHead: FC 512 - ReLU - FC) trained with BCE on the
# synthetic faces' 7 attributes (CelebA has 40: see
# berl-attr_iresnet50_2fc_1xb256-20e_celeba.py); mean accuracy over
# attributes (AttributeAccuracy) on the test partition (the last 10%
# identities). Faces are aligned to the 112 x 112 ArcFace template with
# the CelebA 5 points (AlignFace), as the recognition training data.
#
#   python tools/misc/make_synthetic_faces.py --out data/synthetic_downstream \
#       --num-identities 60 --images-per-identity 10 --img-size 112 \
#       --formats annotations
#   CFG=configs/berl/berl-attr_iresnet18_2fc_1xb32-10e_synthetic-faces.py
#   python tools/train.py $CFG --cfg-options \
#       model.backbone.init_cfg.checkpoint=work_dirs/<stage-3 run>/epoch_N.pth
#   python tools/test.py $CFG work_dirs/$(basename $CFG .py)/epoch_10.pth
#
# The checkpoint default below is the stage-3 CPU run's (the issue's
# protocol: the backbone after joint training, frozen); any 3D-BERL stage
# checkpoint works (e.g. stage 1's, the face-recognition-only baseline),
# its backbone keys start with 'backbone.'.
_base_ = ['../_base_/default_runtime.py']

pretrained = ('work_dirs/berl-stage3_iresnet18_curricularface-recon_'
              '1xb16-2e_synthetic-faces/epoch_2.pth')
pretrained_prefix = 'backbone.'
data_root = 'data/synthetic_downstream/annotations'
num_attributes = 7  # the synthetic attributes; CelebA has 40
max_epochs = 10
lr = 1e-3

model = dict(
    type='FrozenBackboneClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_attributes,
        mean=[127.5] * 3,  # as the recognition training
        std=[127.5] * 3,
        to_rgb=True),  # facessl datasets yield BGR
    backbone=dict(
        type='IResNet',
        arch='r18',
        out_indices=(4, ),  # the 512-d embedding
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            prefix=pretrained_prefix)),
    head=dict(
        type='MultiLabelMLPHead',
        num_classes=num_attributes,
        in_channels=512,
        mid_channels=512,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True)))

# CelebA's 5 points (list_landmarks_align_celeba.txt) -> ArcFace template
align = dict(
    type='KeyMapper',
    mapping=dict(img='img', img_shape='img_shape', landmarks5='landmarks'),
    auto_remap=True,
    transforms=[dict(type='AlignFace', image_size=112)])
train_pipeline = [
    align,
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [align, dict(type='PackInputs')]
attributes = dict(
    type='CelebAAttributes',
    data_root=data_root,
    landmarks_file='list_landmarks_align_celeba.txt')

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(attributes, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(attributes, split='test', pipeline=test_pipeline))
val_evaluator = dict(type='AttributeAccuracy')
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# only the two FC layers have gradients (the backbone is frozen)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=lr, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs,
    val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(interval=max_epochs), logger=dict(interval=5))
