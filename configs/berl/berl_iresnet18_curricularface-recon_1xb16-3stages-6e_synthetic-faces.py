# 3D-BERL's three stages in one run on the CPU demo data: BERLStageHook sets
# the model's stage by epoch (epochs 0-1 face recognition only, 2-3 the
# IRA/IIA networks with the backbone frozen, 4-5 joint), so no checkpoint
# is chained by hand. Both optimisers exist from the start; each schedule
# covers the epochs where its wrapper steps.
#
#   python tools/train.py \
#       configs/berl/<this file>
#
# The per-stage configs (berl-stage{1,2,3}_iresnet18_*) with
# tools/berl_pipeline.py do the same with a checkpoint per stage.
_base_ = [
    './berl-stage3_iresnet18_curricularface-recon_1xb16-2e_synthetic-faces.py'
]

stage_epochs = (2, 4)
max_epochs = 6
fr_lr = 0.1
recon_lr = 1e-4

model = dict(stage=1, pretrained=None)

optim_wrapper = dict(
    fr=dict(optimizer=dict(lr=fr_lr)),
    recon=dict(optimizer=dict(lr=recon_lr)))
param_scheduler = dict(
    _delete_=True,
    # stage 1 (warm-up + cosine), constant in stage 2, low in stage 3
    fr=[
        dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
             end=1, convert_to_iter_based=True),
        dict(type='CosineAnnealingLR', eta_min=fr_lr * 0.1, by_epoch=True,
             begin=1, end=stage_epochs[0], convert_to_iter_based=True),
        dict(type='CosineAnnealingLR', eta_min=fr_lr * 0.001,
             by_epoch=True, begin=stage_epochs[1], end=max_epochs,
             convert_to_iter_based=True),
    ],
    # from stage 2 on: cosine over stages 2 and 3
    recon=[
        dict(type='CosineAnnealingLR', eta_min=recon_lr * 0.1,
             by_epoch=True, begin=stage_epochs[0], end=max_epochs,
             convert_to_iter_based=True),
    ])

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
custom_hooks = [
    dict(type='NaNGuardHook'),
    dict(type='EpochSeedHook'),
    dict(type='PreemptionHook'),
    dict(type='BERLStageHook', stage_epochs=stage_epochs),
    dict(type='BERLVisualizationHook', interval=1, num_samples=4),
]
