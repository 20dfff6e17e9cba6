# ProS pretraining as the paper's synthetic-data setting: ViT-S/16 on
# SyntheticFaces (generated on the fly, 224-px faces), 2 global views of
# 224 and 6 local views of 96 px, batch 8 x 32 = 256, 20 epochs.
#
#   bash tools/dist_train.sh \
#       configs/pros/pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces.py 8
#
# The face-aware crop filter is off; configs/pros/README.md shows how to
# switch it on with a trained recognition model.
_base_ = [
    '../_base_/models/pros_vit-s-p16.py',
    '../_base_/datasets/synthetic_faces_dino.py',
    '../_base_/schedules/pros_adamw_cos.py',
    '../_base_/default_runtime.py',
]

face_size = 224
global_size = 224
local_size = 96


def _resize(pipeline, size):
    # the base view pipelines with another RandomResizedCrop size
    return [
        dict(t, scale=size) if t['type'] == 'RandomResizedCrop' else t
        for t in pipeline
    ]


train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        img_size=face_size,
        pipeline=[
            dict(
                type='MultiView',
                num_views=[1, 1, _base_.num_local_views],
                transforms=[
                    _resize(_base_.global_pipeline1, global_size),
                    _resize(_base_.global_pipeline2, global_size),
                    _resize(_base_.local_pipeline, local_size),
                ]),
            dict(type='PackInputs'),
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
