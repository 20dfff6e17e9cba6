# DINO demo: ViT-T/8 on SyntheticFaces, a few minutes on 2 CPU cores.
#
#   python tools/train.py \
#       configs/dino/dino_vit-t-p8_1xb32-coslr-4e_synthetic-faces.py
#
# Shows the kNN identity accuracy of the teacher's cls token on held-out
# identities rising above the randomly initialised network's (validation
# before training, ValidateAtStartHook, then after every epoch).
# Deviations from the paper-scale recipe (dino_vit-t-p8_4xb64-coslr-100e_
# ms1m.py), all to fit a CPU demo:
# - views of 64 px (global) and 32 px (local) instead of 112/48, and 4 local
#   views instead of 6-10: a ViT/8 costs ~tokens^1 per image, so this is
#   ~4x cheaper per view; the synthetic faces stay recognisable at 64 px;
# - 100 training identities x 10 images (31 iterations per epoch), 4 epochs;
# - out_dim 4096 prototypes instead of 65536 for 100 identities: the head
#   would otherwise cost as much as the backbone at 64 px (DINO's ablation of
#   the number of prototypes shows only a modest gain from the larger head);
# - no lr scaling by batch size (lr 5e-4 at batch 32), 1 warm-up epoch and a
#   faster teacher (momentum 0.99 -> 1) so that ~120 steps move the teacher,
#   whose features the kNN evaluates.
_base_ = [
    '../_base_/models/dino_vit-t-p8.py',
    '../_base_/datasets/synthetic_faces_dino.py',
    '../_base_/datasets/synthetic_faces_eval.py',
    '../_base_/schedules/dino_adamw_cos.py',
    '../_base_/default_runtime.py',
]

global_size = 64
local_size = 32
num_local_views = 4
out_dim = 4096
max_epochs = 4
warmup_epochs = 1


def _resize(pipeline, size):
    # the base view pipelines with another RandomResizedCrop size
    return [
        dict(t, scale=size) if t['type'] == 'RandomResizedCrop' else t
        for t in pipeline
    ]


model = dict(
    backbone=dict(img_size=global_size),
    head=dict(out_dim=out_dim),
    loss=dict(out_dim=out_dim))

train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        num_identities=100,
        images_per_identity=10,
        pipeline=[
            dict(
                type='MultiView',
                num_views=[1, 1, num_local_views],
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
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader


def _eval_at(loader, size):
    # an evaluation set of synthetic_faces_eval.py resized to `size`
    pipeline = [
        dict(t, scale=size) if t['type'] == 'Resize' else t
        for t in loader['dataset']['pipeline']
    ]
    return dict(loader, dataset=dict(loader['dataset'], pipeline=pipeline))


# verification .bin and IJB-style sets that tools/demo.py scores
synthetic_verification_dataloader = _eval_at(
    _base_.synthetic_verification_dataloader, global_size)
synthetic_ijb_dataloader = _eval_at(_base_.synthetic_ijb_dataloader,
                                    global_size)

optim_wrapper = dict(optimizer=dict(lr=5e-4))
auto_scale_lr = dict(enable=False)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingWeightDecay',
        eta_min=0.4,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)

custom_hooks = _base_.custom_hooks + [
    dict(type='TeacherEMAHook', momentum=0.99, end_momentum=1.0),
    dict(type='TeacherTempHook', start=0.04, end=0.04, warmup=0),
    dict(type='FreezeLastLayerHook', freeze_last_layer=1),
    dict(type='ValidateAtStartHook'),
    # augmented views + teacher cls attention, at the start and every 2
    # epochs, into vis_data/vis_image/ and TensorBoard
    dict(type='SSLVisualizationHook', interval=2, num_samples=4, height=96),
]
default_hooks = dict(
    checkpoint=dict(interval=max_epochs), logger=dict(interval=5))
