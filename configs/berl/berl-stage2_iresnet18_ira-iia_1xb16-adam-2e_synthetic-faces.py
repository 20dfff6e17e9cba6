# 3D-BERL stage 2 CPU demo: the IRA/IIA networks learn to reconstruct the
# faces (L1 between the re-rendered image and the input at 64 x 64) from
# the frozen stage-1 IResNet-18 (no gradient, BatchNorm in eval mode); the
# margin head is carried over unchanged for stage 3.
#
#   python tools/train.py \
#       configs/berl/<this file> \
#       --cfg-options model.pretrained.0.checkpoint=S1 \
#       model.pretrained.1.checkpoint=S1
#
# with S1 the stage-1 checkpoint (default below: the stage-1 demo's);
# tools/berl_pipeline.py chains the three stages itself. The backbone does
# not change, so nothing is validated. Deviations from the paper-scale
# berl-stage2_iresnet100_ira-iia_4xb50-adam-4e_ms1m.py: 'r18', IRA width
# nf = 32 (64 there), tiny data. Adam lr 1e-4 (Unsup3D's) beat 1e-3 here:
# after 96 iterations L1 0.062 against 0.090, and a face-shaped albedo.
_base_ = [
    './berl-stage1_iresnet18_curricularface_1xb16-3e_synthetic-faces.py',
    '../_base_/models/berl_recon.py',
]

stage1_checkpoint = ('work_dirs/berl-stage1_iresnet18_curricularface_1xb16-'
                     '3e_synthetic-faces/epoch_3.pth')
max_epochs = 2
recon_lr = 1e-4

model = dict(
    type='BERL',
    stage=2,
    ira=dict(_base_.berl_ira, nf=32),
    iia=_base_.berl_iia,
    renderer=_base_.berl_renderer,
    gamma_fr=1.,
    gamma_recon=1.,
    # backbone and margin head of stage 1, strictly
    pretrained=[
        dict(checkpoint=stage1_checkpoint, prefix='backbone.',
             target='backbone', strict=True),
        dict(checkpoint=stage1_checkpoint, prefix='head.', target='head',
             strict=True),
    ])

# SGD for backbone + head (not stepped in stage 2), Adam for IRA + IIA
optim_wrapper = dict(
    _delete_=True,
    constructor='ModuleGroupsOptimWrapperConstructor',
    fr=dict(
        modules=_base_.berl_fr_modules,
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
        clip_grad=dict(max_norm=5.0)),
    recon=dict(
        modules=_base_.berl_recon_modules,
        optimizer=dict(type='Adam', lr=recon_lr, betas=(0.9, 0.999))))
param_scheduler = dict(
    _delete_=True,
    fr=[dict(type='ConstantLR', factor=1., by_epoch=True, begin=0,
             end=max_epochs)],
    recon=[dict(type='CosineAnnealingLR', eta_min=recon_lr * 0.1,
                by_epoch=True, begin=0, end=max_epochs,
                convert_to_iter_based=True)])

train_cfg = dict(max_epochs=max_epochs, val_interval=10**6)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
custom_hooks = [
    dict(type='NaNGuardHook'),
    dict(type='EpochSeedHook'),
    dict(type='PreemptionHook'),
    # input / shaded depth / albedo / shading / reconstruction / yaw +-30
    dict(type='BERLVisualizationHook', interval=1, num_samples=4),
]
