# Downstream fine-tuning (attributes, alignment): AdamW lr 5e-4, weight
# decay 0.05, layer-wise lr decay 0.65 (FaceLayerDecayOptimWrapperConstructor),
# 1 warm-up epoch then cosine to 1e-6, 20 epochs, a test every 5.
max_epochs = 20
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05,
                   betas=(0.9, 0.999)),
    constructor='FaceLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.65))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, eta_min=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
