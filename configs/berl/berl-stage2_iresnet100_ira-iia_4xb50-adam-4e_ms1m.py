# 3D-BERL stage 2 at scale: the IRA/IIA networks (Unsup3D widths, nf = 64)
# learn to reconstruct MS1MV2 faces at 64 x 64 from the frozen stage-1
# IResNet-100 (no gradient, BatchNorm in eval mode); Adam, batch 200
# (4 x 50). Loads backbone and margin head of the stage-1 checkpoint
# (berl-stage1_iresnet100_curricularface_4xb50-sgd-24e_ms1m.py), strictly:
#
#   bash tools/dist_train.sh \
#       configs/berl/berl-stage2_iresnet100_ira-iia_4xb50-adam-4e_ms1m.py 4 \
#       --cfg-options model.pretrained.0.checkpoint=S1 \
#       model.pretrained.1.checkpoint=S1
#
# Adam lr 1e-4 is Unsup3D's; the length (4 epochs) is facessl's choice (the
# 3D-BERL paper does not give the stage lengths). Multi-GPU: BERL steps its
# two optimisers itself, hence one DDP per sub-module
# (FaceSeparateDistributedDataParallel, which also leaves the Partial FC
# centres of stage 1 unwrapped).
_base_ = [
    './berl-stage1_iresnet100_curricularface_4xb50-sgd-24e_ms1m.py',
    '../_base_/models/berl_recon.py',
]

stage1_checkpoint = ('work_dirs/berl-stage1_iresnet100_curricularface_4xb50-'
                     'sgd-24e_ms1m/epoch_24.pth')
max_epochs = 4
recon_lr = 1e-4

model = dict(
    type='BERL',
    stage=2,
    ira=_base_.berl_ira,
    iia=_base_.berl_iia,
    renderer=_base_.berl_renderer,
    gamma_fr=1.,
    gamma_recon=1.,
    pretrained=[
        dict(checkpoint=stage1_checkpoint, prefix='backbone.',
             target='backbone', strict=True),
        dict(checkpoint=stage1_checkpoint, prefix='head.', target='head',
             strict=True),
    ])
model_wrapper_cfg = dict(
    type='FaceSeparateDistributedDataParallel', broadcast_buffers=False,
    find_unused_parameters=True)

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
    recon=[dict(type='ConstantLR', factor=1., by_epoch=True, begin=0,
                end=max_epochs)])

# the embedding does not change in stage 2: no validation
train_cfg = dict(max_epochs=max_epochs, val_interval=10**6)
default_hooks = dict(checkpoint=dict(interval=1))
custom_hooks = [
    dict(type='NaNGuardHook'),
    dict(type='EpochSeedHook'),
    dict(type='PreemptionHook'),
    dict(type='BERLVisualizationHook', interval=1, num_samples=4),
    dict(type='PartialFCCheckpointHook'),
]

# 4 GPUs: every BatchNorm becomes SyncBatchNorm (statistics of the global
# batch of 200); without CUDA (gloo) each process keeps its own.
sync_bn = 'torch'
