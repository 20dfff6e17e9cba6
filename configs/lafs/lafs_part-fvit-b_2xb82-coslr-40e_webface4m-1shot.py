# LAFS stage 2 at paper scale (Sun et al., CVPR 2024, Sec. 4 and
# supplementary Sec. 8.1.3): Part fViT-B with the stage-1 landmark CNN
# frozen, pre-trained for 40 epochs on WebFace4M-1shot (one image per
# identity), 2 global + 8 local 112-px views (local views keep 36 of the
# 196 landmarks), landmarks perturbed (alpha = 2 px) and shuffled for the
# teacher and the student, slot position embeddings, DINO head with
# out_dim 100000, student temperature 0.1, teacher temperature
# 0.07 -> 0.04 over 30 epochs, teacher momentum 0.996 -> 1 (cosine), last
# layer frozen in epoch 0, AdamW lr 5e-4 x batch / 256 with 10 warm-up
# epochs then cosine to 1e-6, weight decay 0.04 -> 0.4 (cosine), each
# gradient clipped to norm 3.0 on its own. Batch 2 GPUs x 82 faces as the
# authors' release. configs/lafs/README.md lists every setting against the
# paper.
#
#   bash tools/dist_train.sh \
#       configs/lafs/lafs_part-fvit-b_2xb82-coslr-40e_webface4m-1shot.py 2 \
#       --cfg-options model.landmark_cnn_checkpoint=<stage-1 .pth> \
#       train_dataloader.dataset.dataset.data_root=<WebFace4M pack dir>
#
# The shuffle ablation of the paper's Table 2 is
# lafs_part-fvit-b_2xb82-noshuffle-coslr-40e_webface4m-1shot.py (and the
# lafs_fvit-b-p8_* pair for the plain fViT).
_base_ = [
    '../_base_/models/lafs_part-fvit-b.py',
    '../_base_/datasets/webface4m-1shot_lafs.py',
    '../_base_/schedules/dino_adamw_cos.py',
    '../_base_/default_runtime.py',
]

# stage 1: the landmark CNN (the same MobileNetV3 whatever the ViT width)
# of configs/lafs/part-fvit-t_cosface_4xb128-40e_ms1m.py
landmark_cnn_checkpoint = (
    'work_dirs/part-fvit-t_cosface_4xb128-40e_ms1m/epoch_40.pth')
max_epochs = 40
warmup_epochs = 10

model = dict(landmark_cnn_checkpoint=landmark_cnn_checkpoint)
train_dataloader = dict(
    batch_size=82, dataset=dict(pipeline=_base_.batched_train_pipeline))
# colour jitter, grayscale, blur and solarise batched on the GPU, the
# un-augmented crops appended (the per-image path: _base_.train_pipeline
# with _base_.data_preprocessor)
data_preprocessor = _base_.batched_data_preprocessor

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingWeightDecay', eta_min=0.4, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]
custom_hooks = _base_.custom_hooks + _base_.lafs_hooks
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=10))
env_cfg = dict(dist_cfg=dict(backend='nccl'))
