# 3D-BERL stage 1 CPU demo: face recognition only, IResNet-18 at 112 x 112
# with a CurricularFace head (m = 0.5, s = 64) on identity-labelled
# SyntheticFaces. Stages 2 and 3 load its checkpoint (keys backbone.* and
# head.*).
#
#   python tools/misc/make_synthetic_faces.py --out data/synthetic_eval \
#       --num-identities 0 --images-per-identity 0 --formats bin \
#       --num-pairs 200 --background plain
#   python tools/train.py configs/berl/<this file>
#
# Size: 20 identities x 8 images, batch 16, 3 epochs = 30 iterations of
# IResNet-18, then kNN on 50 held-out identities; tools/test.py scores the
# verification of the .bin's 200 pairs with flip test.
# Measured: 4.6 CPU-minutes in all (about 2.5 minutes on 2 idle cores;
# 11 minutes on 2 cores shared with other jobs); loss 31.7 -> 8.6, train
# accuracy 94%, verification accuracy 78% (200 pairs). The paper recipe is
# berl-stage1_iresnet100_curricularface_4xb50-sgd-24e_ms1m.py; deviations
# here: 'r18', tiny data, 3 epochs with a 1-epoch warm-up and cosine decay.
_base_ = [
    '../_base_/datasets/synthetic_faces_eval.py',
    '../_base_/default_runtime.py',
]

face_size = 112
num_identities = 20
images_per_identity = 8
batch_size = 16
max_epochs = 3
warmup_epochs = 1
lr = 0.1
generator_cfg = dict(background='plain')

model = dict(
    type='FaceRecognizer',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_identities,
        mean=[127.5] * 3,  # insightface: (x - 127.5) / 127.5 in [-1, 1]
        std=[127.5] * 3,
        to_rgb=True),  # the datasets yield BGR
    backbone=dict(
        type='IResNet',
        arch='r18',
        # (stage-3 map (B, 256, 14, 14), embedding (B, 512)): the same
        # outputs as the 3D-BERL stages 2-3, which decode the stage-3 map;
        # the margin head and the embedding for evaluation take the last
        out_indices=(2, 4)),
    head=dict(
        type='CurricularFaceHead',
        num_classes=num_identities,
        in_channels=512,
        s=64.,
        m=0.5,
        momentum=0.99))  # t <- 0.99 t + 0.01 r (the authors' EMA)

train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    drop_last=False,
    dataset=dict(
        type='SyntheticFaces',
        num_identities=num_identities,
        images_per_identity=images_per_identity,
        img_size=face_size,
        seed=0,
        identity_offset=0,
        generator_cfg=generator_cfg,
        pipeline=train_pipeline))

# validation: kNN identity accuracy on 50 held-out identities (the ones
# after the training identities), as the other methods' synthetic configs
# (tools/analysis/learning_curve.py scores it and raw pixels under it)
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='SyntheticFaces',
        num_identities=50,
        images_per_identity=10,
        img_size=face_size,
        seed=0,
        identity_offset=num_identities,
        generator_cfg=generator_cfg,
        pipeline=[dict(type='PackInputs')]))
val_evaluator = dict(type='KNNAccuracy', k=20, temperature=0.07, topk=(1, 5))
val_cfg = dict()
# test: verification accuracy and TAR@FAR on held-out synthetic identities
test_dataloader = _base_.synthetic_verification_dataloader
test_evaluator = _base_.synthetic_verification_evaluator
test_cfg = dict()

# SGD with momentum 0.9 and weight decay 5e-4 for backbone and margin head
# (the paper's) on every parameter and gradient-norm clipping at 5, as
# insightface's arcface_torch
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=lr, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-4, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs,
    val_interval=max_epochs)
default_hooks = dict(
    checkpoint=dict(interval=max_epochs), logger=dict(interval=5))
