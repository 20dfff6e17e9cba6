# LAFS stage 2 at paper scale on MS1M (4 GPUs x 64 faces): Part fViT-Tiny
# with the stage-1 landmark CNN frozen, 2 global + 8 local 112-px views
# (local views keep 36 of the 196 landmarks), DINO head with out_dim
# 100 000 (the paper's 100K), student temperature 0.1, teacher temperature
# 0.07 -> 0.04 over 30 epochs (the released recipe), teacher momentum
# 0.996 -> 1 (cosine), last layer frozen in epoch 0, AdamW lr 5e-4 x
# batch / 256 (auto_scale_lr: 256 faces -> 5e-4) with 10 warm-up epochs and
# cosine, weight decay 0.04 -> 0.4 (cosine), each gradient clipped to norm
# 3.0 on its own (Sun et al., CVPR 2024, Sec. 4 and the authors' release).
#
#   bash tools/dist_train.sh \
#       configs/lafs/lafs_part-fvit-t_4xb64-coslr-100e_ms1m.py 4 \
#       --cfg-options model.landmark_cnn_checkpoint=<stage-1 .pth>
#
# Fill in data_root (one folder per identity, FaceImageFolder; for
# insightface train.rec/train.idx use the RecordIO dataset type instead)
# and the stage-1 checkpoint (configs/lafs/part-fvit-t_cosface_*.py).
# Landmark perturbation alpha = 2 px (the paper's best ablation; the
# release uses 5: model.landmark_augs.*.0.alpha). kNN identity accuracy on
# held-out synthetic identities is the (cheap) validation.
_base_ = [
    '../_base_/models/lafs_part-fvit-t.py',
    '../_base_/datasets/synthetic_faces_lafs.py',
    '../_base_/schedules/dino_adamw_cos.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/ms1m'
landmark_cnn_checkpoint = (
    'work_dirs/part-fvit-t_cosface_ms1m/epoch_N.pth')
out_dim = 100000

model = dict(
    landmark_cnn_checkpoint=landmark_cnn_checkpoint,
    head=dict(out_dim=out_dim),
    loss=dict(out_dim=out_dim))

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='FaceImageFolder',
        data_root=data_root,
        pipeline=_base_.train_pipeline))

custom_hooks = _base_.custom_hooks + _base_.lafs_hooks
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=10))
env_cfg = dict(dist_cfg=dict(backend='nccl'))
