# 3D-BERL attribute transfer, CPU demo, as the paper's protocol: the
# recognition backbone of a 3D-BERL run (IResNet) with its fourth stage
# removed, two FC layers (MultiLabelMLPHead: FC 512 - ReLU - FC) on the
# flattened stage-3 map (256 x 14 x 14), the whole network fine-tuned with
# BCE on the synthetic faces' 7 attributes (CelebA has 40: see
# berl-attr_iresnet100-s3_1xb40-2fc-ft-60e_celeba.py), batch 40; mean
# accuracy over attributes (AttributeAccuracy) on the test partition (the
# last 10% identities). Faces are aligned to the 112 x 112 ArcFace template
# with the CelebA 5 points (AlignFace), as the recognition training data.
#
#   python tools/misc/make_synthetic_faces.py --out data/synthetic_downstream \
#       --num-identities 60 --images-per-identity 10 --img-size 112 \
#       --formats annotations
#   CFG=configs/berl/berl-attr_iresnet18-s3_1xb40-2fc-ft-10e_synthetic-faces.py
#   python tools/train.py $CFG --cfg-options \
#       model.backbone.init_cfg.checkpoint=work_dirs/<stage-3 run>/epoch_N.pth
#   python tools/test.py $CFG work_dirs/$(basename $CFG .py)/epoch_10.pth
#
# Limited labels: --cfg-options train_dataloader.dataset.fraction=0.1 keeps
# a seeded 10 % of the training images (LabelFraction; seed
# train_dataloader.dataset.seed). The checkpoint default below is the
# stage-3 CPU run's; any 3D-BERL stage checkpoint works (e.g. stage 1's,
# the face-recognition-only baseline), its backbone keys start with
# 'backbone.'. Deviations from the paper: IResNet-18, 10 epochs, synthetic
# faces.
_base_ = ['../_base_/default_runtime.py']

pretrained = ('work_dirs/berl-stage3_iresnet18_curricularface-recon_'
              '1xb16-2e_synthetic-faces/epoch_2.pth')
pretrained_prefix = 'backbone.'
data_root = 'data/synthetic_downstream/annotations'
num_attributes = 7  # the synthetic attributes; CelebA has 40
max_epochs = 10
batch_size = 40  # the paper's
lr = 1e-4
label_fraction = 1.  # fraction of the training labels used
label_seed = 0

model = dict(
    type='BERLAttributeClassifier',
    num_stages=3,  # stage 4 removed; the head reads the stage-3 map
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_attributes,
        mean=[127.5] * 3,  # as the recognition training
        std=[127.5] * 3,
        to_rgb=True),  # facessl datasets yield BGR
    backbone=dict(
        type='IResNet',
        arch='r18',
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            prefix=pretrained_prefix)),
    head=dict(
        type='MultiLabelMLPHead',
        num_classes=num_attributes,
        in_channels=256 * 14 * 14,  # the flattened stage-3 map at 112 px
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
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='LabelFraction',
        dataset=dict(attributes, split='train', pipeline=train_pipeline),
        fraction=label_fraction,
        seed=label_seed))
val_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(attributes, split='test', pipeline=test_pipeline))
val_evaluator = dict(type='AttributeAccuracy')
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# the whole network is fine-tuned; optimiser and lr are facessl's choices
# (the paper gives batch 40 and 60 epochs only)
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
