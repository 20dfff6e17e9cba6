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
# and is switched off with --cfg-options model.crop_filter=None (add
# data_preprocessor.append_unaugmented=False: the un-augmented crops are
# then unused).
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


def _resize(pipeline, size):
    # the base's geometric view steps at another RandomResizedCrop size
    return [
        dict(t, scale=size) if t['type'] == 'RandomResizedCrop' else t
        for t in pipeline
    ]


# The workers crop and flip (uint8); MultiViewPhotometricPreprocessor
# applies colour jitter, grayscale, blur and solarise batched on the GPU
# and appends the un-augmented crops the retrieval model scores: the model
# receives the 2 V layout ProS reads (V augmented views, then their V
# un-augmented copies, `num_views` in the meta). The per-image path is
# LAFSMultiView of TwoImageView(geometric=crop + flip, photometric=the
# rest of _base_.global_pipeline1/2 and local_pipeline) with the plain
# SelfSupDataPreprocessor.
train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        img_size=face_size,
        pipeline=[
            dict(
                type='MultiViewWithGeometry',
                num_views=[1, 1, _base_.num_local_views],
                transforms=[
                    _resize(_base_.global_geometric, global_size),
                    _resize(_base_.global_geometric, global_size),
                    _resize(_base_.local_geometric, local_size),
                ]),
            dict(type='PackInputs', meta_keys=('num_views', )),
        ]))
data_preprocessor = dict(
    _base_.batched_data_preprocessor, append_unaugmented=True)
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
