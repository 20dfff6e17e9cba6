# FRA ResNet-50 pre-training at paper scale (Gao & Patras, CVPR 2024):
# 8 GPUs x 128 faces of 128 x 128, two BYOL views, K = 8 facial mask
# embeddings, LARS lr 1.8 for the total batch 1024 (scaled linearly with
# --auto-scale-lr), weight decay 1.5e-6, momentum 0.9, 10 warm-up epochs
# then cosine over 400 epochs, momentum network tau 0.99 -> 1 (cosine).
#
#   bash tools/dist_train.sh \
#       configs/fra/fra_resnet50_8xb128-coslr-400e_vggface2.py 8
#
# Fill in data_root (one folder per identity, FaceImageFolder: aligned or
# loosely cropped faces; for insightface train.rec/train.idx use the
# RecordIO dataset type instead). kNN identity accuracy on held-out
# synthetic identities is the (cheap) validation.
# Multi-GPU: BatchNorm is SyncBN (backbone and MLPs), statistics of the
# whole batch of 1024 as in the paper; on CPU (gloo) SyncBN is unavailable
# and each process normalises with its own batch, and each process draws
# its own augmentations (seeded by rank); the collapse guard balances the
# Sinkhorn targets and the pixel-region information over each process's
# batch (128 faces here), not over all processes. So N processes match one
# only up to these.
_base_ = [
    '../_base_/models/fra_resnet50.py',
    '../_base_/datasets/synthetic_faces_fra.py',
    '../_base_/schedules/fra_lars_cos.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/vggface2/train'
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(
        _delete_=True,
        type='FaceImageFolder',
        data_root=data_root,
        pipeline=_base_.train_pipeline))
train_cfg = dict(val_interval=20)
custom_hooks = _base_.custom_hooks + [
    dict(type='FRAHeatmapVisualizationHook', interval=20, num_samples=4),
]
default_hooks = dict(checkpoint=dict(interval=20))
