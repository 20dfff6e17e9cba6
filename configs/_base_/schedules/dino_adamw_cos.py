# DINO's optimisation (Caron et al. 2021, Sec. 3.1 / Appendix):
# AdamW, lr 5e-4 x batch / 256 with a linear warm-up (10 epochs) then cosine
# to 1e-6; weight decay cosine 0.04 -> 0.4 on weights only (norms, biases
# and other 1-D parameters have none); each gradient clipped to norm 3.0 on
# its own. Fused AdamW: one kernel per tensor, same update as the default
# for-each/for-loop implementations.
max_epochs = 100
warmup_epochs = 10
optim_wrapper = dict(
    type='PerParamClipOptimWrapper',
    max_norm=3.0,
    optimizer=dict(
        type='AdamW',
        lr=5e-4,
        betas=(0.9, 0.999),
        weight_decay=0.04,
        fused=True),
    paramwise_cfg=dict(
        norm_decay_mult=0., bias_decay_mult=0., flat_decay_mult=0.))
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
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
    # mmpretrain's: groups whose weight decay starts at 0 stay at 0
    dict(
        type='CosineAnnealingWeightDecay',
        eta_min=0.4,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
# lr = 5e-4 * total_batch / 256, as DINO
auto_scale_lr = dict(base_batch_size=256, enable=True)
