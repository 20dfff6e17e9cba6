# Face alignment (68 landmarks) by an UperNet heatmap head on a pretrained
# ViT-T/8, fine-tuned with layer-wise lr decay; NME (inter-ocular) on
# held-out synthetic identities (val and test partitions).
#
# Data (COCO keypoints of synthetic faces rendered at 64 px; the images
# are used as they are, so landmark pixels are input pixels):
#   python tools/misc/make_synthetic_faces.py --out data/synthetic_downstream \
#       --num-identities 60 --images-per-identity 10 --img-size 64 \
#       --formats annotations
# Train / test (pretrained checkpoint and its prefix as variables below or
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
#                 model.backbone.init_cfg.prefix=backbone.):
#   CFG=configs/downstream/alignment_vit-t-p8-upernet_1xb32-20e_synthetic-faces.py
#   python tools/train.py $CFG
#   python tools/test.py $CFG \
#       work_dirs/$(basename $CFG .py)/epoch_20.pth
#
# Protocol (FaRL/ProS alignment): tokens of blocks 4, 6, 8, 12 -> 4-level
# pyramid -> PPM + FPN -> 128 x 128 heatmaps, Gaussian targets (sigma 2),
# MSE; local soft-argmax decoding. Deviations: 64 px synthetic faces, no
# rotation/scale augmentation (flips only), 20 epochs, UperNet channels 64
# (the head's cost dominates on CPU: ~1.7 s instead of ~3.5 s per batch of
# 32 on one thread, the ViT-T ~1.1 s).
#
# Short CPU runs: the head's final conv starts near zero (see
# facessl.models.heads.upernet_landmark_head.init_predictor); with PyTorch's
# default init the first ~75 iterations only flattened the maps (MSE 146 ->
# 1.3, zero maps score 0.77) and the decoded points scattered (NME 138 %
# against 21 % for the mean shape).
_base_ = [
    '../_base_/schedules/downstream_adamw_layer-decay_20e.py',
    '../_base_/default_runtime.py',
]

# pretrained backbone: DINO/ProS/LAFS teachers 'teacher.backbone.',
# students and FRA/face-recognition models 'backbone.'
pretrained = ('work_dirs/dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces/'
              'epoch_8.pth')
pretrained_prefix = 'teacher.backbone.'
data_root = 'data/synthetic_downstream/annotations'
img_size = 64
num_landmarks = 68
# Splits: one COCO file each (the synthetic writer writes its identity-
# disjoint partitions 0/1/2 so). Change them here, in a copy of this file,
# or on the command line through the built dicts (MMEngine does not
# re-evaluate these variables), e.g.
#   --cfg-options test_dataloader.dataset.ann_file=face_landmarks_coco.json
train_ann_file = 'face_landmarks_coco_train.json'
val_ann_file = 'face_landmarks_coco_val.json'
test_ann_file = 'face_landmarks_coco_test.json'
embed_dims = 192

model = dict(
    type='FaceLandmarkRegressor',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        mean=[127.5, 127.5, 127.5],  # as the SSL configs
        std=[127.5, 127.5, 127.5],
        to_rgb=True),  # facessl datasets yield BGR
    backbone=dict(
        type='FastVisionTransformer',
        arch='deit-tiny',
        img_size=img_size,
        patch_size=8,
        out_indices=(3, 5, 7, 11),
        out_type='featmap',
        final_norm=True,
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            prefix=pretrained_prefix)),
    head=dict(
        type='UperNetLandmarkHead',
        in_channels=embed_dims,
        num_landmarks=num_landmarks,
        channels=64,
        heatmap_size=128,
        sigma=2.,
        loss_weight=1000.,  # MSE of mostly-zero maps is tiny
        decode=dict(method='soft_argmax', beta=10., radius=3)))

pack = dict(
    type='PackInputs',
    algorithm_keys=('landmarks', ),
    meta_keys=('sample_idx', 'img_path', 'img_shape'))
train_pipeline = [dict(type='LandmarkRandomFlip', prob=0.5), pack]
test_pipeline = [pack]
landmarks = dict(
    type='CocoFaceLandmarks',
    data_root=data_root,
    data_prefix='img_align_celeba')

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        landmarks, ann_file=train_ann_file, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        landmarks, ann_file=val_ann_file, pipeline=test_pipeline))
val_evaluator = dict(type='NMEMetric', norm='inter_ocular')
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        landmarks, ann_file=test_ann_file, pipeline=test_pipeline))
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(interval={{_base_.max_epochs}}), logger=dict(interval=5))
