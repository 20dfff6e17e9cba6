# DINO ViT-T/8 pre-training on MS1M at paper scale (4 GPUs x 64 images):
# 2 global views at 112 + 6 local views at 48, out_dim 65536, AdamW with
# lr 5e-4 x 256 / 256, 10 warm-up epochs then cosine, weight decay
# 0.04 -> 0.4, per-parameter clipping 3.0, teacher momentum 0.996 -> 1,
# teacher temperature 0.04 -> 0.07 over 30 epochs, last layer frozen in
# epoch 0 (Caron et al. 2021, Sec. 3.1 and Appendix). kNN identity accuracy
# on held-out synthetic identities is the (cheap) validation. This is
# DINO's own recipe; the baseline LAFS is compared with (LAFS's recipe,
# only the method changed) is
# configs/lafs/dino_vit-b-p8_2xb82-coslr-40e_webface4m-1shot.py.
#
#   bash tools/dist_train.sh \
#       configs/dino/dino_vit-t-p8_4xb64-coslr-100e_ms1m.py 4
#
# Fill in data_root (one folder per identity, FaceImageFolder; for
# insightface train.rec/train.idx use the RecordIO dataset type instead).
_base_ = [
    '../_base_/models/dino_vit-t-p8.py',
    '../_base_/datasets/synthetic_faces_dino.py',
    '../_base_/schedules/dino_adamw_cos.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/ms1m'
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='FaceImageFolder',
        data_root=data_root,
        pipeline=_base_.batched_train_pipeline))
# colour jitter, grayscale, blur and solarise run batched on the GPU
# (MultiViewPhotometricPreprocessor); the workers only crop and flip
data_preprocessor = _base_.batched_data_preprocessor

custom_hooks = _base_.custom_hooks + [
    dict(type='TeacherEMAHook', momentum=0.996, end_momentum=1.0),
    dict(type='TeacherTempHook', start=0.04, end=0.07, warmup=30),
    dict(type='FreezeLastLayerHook', freeze_last_layer=1),
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=10))
env_cfg = dict(dist_cfg=dict(backend='nccl'))
