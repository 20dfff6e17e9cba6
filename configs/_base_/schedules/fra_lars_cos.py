# FRA's optimisation: LARS, lr 1.8 for a total batch of 1024 (scaled
# linearly: tools/train.py --auto-scale-lr), weight decay 1.5e-6, momentum
# 0.9; linear warm-up then cosine to 0 over 400 epochs. BN and bias
# parameters have no weight decay and no LARS adaptation (mmpretrain's
# BYOL recipe).
max_epochs = 400
warmup_epochs = 10
base_batch_size = 1024

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=1.8, momentum=0.9, weight_decay=1.5e-6),
    paramwise_cfg=dict(
        custom_keys={
            'bn': dict(decay_mult=0, lars_exclude=True),
            'bias': dict(decay_mult=0, lars_exclude=True),
            'downsample.1': dict(decay_mult=0, lars_exclude=True),
        }))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=0.,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=base_batch_size)
