# ProS optimisation (Di et al., WACV 2024): AdamW, weight decay 0.04 on
# weights (norms, biases and other 1-D parameters have none), lr warmed up
# linearly from 2e-4 to 1e-3 over 2 epochs, cosine to 1e-6, 20 epochs, at
# batch 256 (scaled linearly with the total batch by auto_scale_lr).
max_epochs = 20
warmup_epochs = 2
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.04),
    paramwise_cfg=dict(
        norm_decay_mult=0., bias_decay_mult=0., flat_decay_mult=0.))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.2,  # 2e-4 / 1e-3
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
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=256, enable=True)
