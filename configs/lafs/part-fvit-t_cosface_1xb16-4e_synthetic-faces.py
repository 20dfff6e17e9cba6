# LAFS stage 1 demo: Part fViT-T trained end to end (landmark CNN included)
# with a CosFace head (s = 64, m = 0.4) on identity-labelled SyntheticFaces.
# Its landmark CNN (checkpoint keys backbone.landmark_cnn.*) is what LAFS
# stage 2 and stage 3 load, frozen.
#
#   python tools/misc/make_synthetic_faces.py --out data/synthetic_eval \
#       --num-identities 0 --images-per-identity 0 --formats bin \
#       --background plain
#   python tools/train.py \
#       configs/lafs/part-fvit-t_cosface_1xb16-4e_synthetic-faces.py
#
# (tools/lafs_pipeline.py writes the .bin itself and chains all 3 stages.)
# Size: 50 identities x 8 images of 112 px, batch 16, 4 epochs = 100
# iterations, ~2 s each for Part fViT-T on 2 CPU cores: about 4 minutes
# plus the verification at the end (600 pairs, flip test). The paper-scale
# recipe is part-fvit-t_cosface_4xb128-40e_ms1m.py; deviations here: tiny
# data, 1 warm-up epoch, lr 1e-3 at batch 16 (no batch scaling). Faces on a
# plain background (as the DINO demo: the colourful textures are an
# image-level cue, not an identity one).
_base_ = [
    '../_base_/datasets/synthetic_faces_eval.py',
    '../_base_/default_runtime.py',
]

face_size = 112
num_identities = 50
images_per_identity = 8
batch_size = 16
max_epochs = 4
warmup_epochs = 1
lr = 1e-3
generator_cfg = dict(background='plain')

model = dict(
    type='FaceRecognizer',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_identities,
        mean=[127.5] * 3,  # insightface-style: (x - 127.5) / 127.5
        std=[127.5] * 3,
        to_rgb=True),  # the datasets yield BGR
    backbone=dict(
        type='PartFViT',
        arch='tiny',
        img_size=face_size,
        patch_size=8,
        num_landmarks=196,
        # trained end to end through the patch sampling (no landmark labels)
        landmark_cnn=dict(type='LandmarkCNN', num_landmarks=196),
        drop_path_rate=0.1,
        out_type='cls_token'),
    head=dict(
        type='CosFaceHead', num_classes=num_identities, in_channels=192,
        s=64., m=0.4))

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

# verification accuracy and TAR@FAR on held-out synthetic identities
val_dataloader = _base_.synthetic_verification_dataloader
val_evaluator = _base_.synthetic_verification_evaluator
val_cfg = dict()
test_dataloader = val_dataloader
test_evaluator = val_evaluator
test_cfg = dict()

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=lr, weight_decay=0.05,
                   betas=(0.9, 0.999)),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs,
    val_interval=max_epochs)
default_hooks = dict(
    checkpoint=dict(interval=max_epochs), logger=dict(interval=5))
