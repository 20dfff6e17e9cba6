# ProS pretraining as the paper's synthetic-data setting: ViT-S/16 on
# SyntheticFaces (generated on the fly, 224-px faces), 2 global views of
# 224 and 6 local views of 96 px, batch 8 x 32 = 256, 20 epochs, the
# paper's loss pairing (teacher globals x student locals) and face-aware
# retrieval with a pretrained ArcFace IResNet-100.
#
#   bash tools/dist_train.sh \
#       configs/pros/pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces.py 8
#
# Face-aware retrieval needs the ArcFace checkpoint at `arcface_checkpoint`
# (below) or, on the command line,
#   --cfg-options model.crop_filter.checkpoint=PATH
# and is switched off with --cfg-options model.crop_filter=None.
# configs/pros/README.md lists every setting against the paper.
_base_ = [
    '../_base_/models/pros_vit-s-p16.py',
    '../_base_/datasets/synthetic_faces_dino.py',
    '../_base_/schedules/pros_adamw_cos.py',
    '../_base_/default_runtime.py',
]

face_size = 224
global_size = 224
local_size = 96
# A pretrained ArcFace IResNet-100: a facessl face-recognition checkpoint
# (backbone under 'backbone.'), e.g. an insightface arcface_torch
# backbone.pth converted by tools/model_converters/.
arcface_checkpoint = 'checkpoints/arcface_iresnet100_ms1mv3.pth'

model = dict(
    pairing='paper',
    crop_filter=dict(
        type='FaceAwareCropFilter',
        backbone=dict(type='IResNet', arch='r100', embed_dims=512),
        checkpoint=arcface_checkpoint,
        prefix='backbone.',
        input_size=112,  # ArcFace's input side
        threshold=-0.5,
        reduce='max'))


def _two_images(pipeline, size):
    # One view of the base pipeline at another crop size, as a
    # TwoImageView: the crop and flip are kept as the un-augmented image
    # the retrieval model scores, the colour/blur steps make the view.
    steps = [
        dict(t, scale=size) if t['type'] == 'RandomResizedCrop' else t
        for t in pipeline
    ]
    geometric = [
        t for t in steps if t['type'] in ('RandomResizedCrop', 'RandomFlip')
    ]
    photometric = [t for t in steps if t not in geometric]
    return [
        dict(
            type='TwoImageView',
            geometric=geometric,
            photometric=photometric)
    ]


train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        img_size=face_size,
        pipeline=[
            dict(
                type='LAFSMultiView',
                num_views=[1, 1, _base_.num_local_views],
                transforms=[
                    _two_images(_base_.global_pipeline1, global_size),
                    _two_images(_base_.global_pipeline2, global_size),
                    _two_images(_base_.local_pipeline, local_size),
                ]),
            dict(type='PackInputs', meta_keys=('num_views', )),
        ]))
val_pipeline = [
    dict(
        type='ResizeEdge',
        scale=global_size,
        edge='short',
        interpolation='bicubic',
        backend='pillow'),
    dict(type='CenterCrop', crop_size=global_size),
    dict(type='PackInputs'),
]
val_dataloader = dict(
    dataset=dict(img_size=face_size, pipeline=val_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(val_interval=5)

custom_hooks = _base_.custom_hooks + _base_.pros_hooks
