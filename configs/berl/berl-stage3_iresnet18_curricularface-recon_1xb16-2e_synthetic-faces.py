# 3D-BERL stage 3 CPU demo: joint training, L = L_FR + L_recon
# (CurricularFace + the 64 x 64 L1 reconstruction loss); the reconstruction
# gradient reaches the backbone through its stage-3 map. SGD for backbone +
# margin head, Adam for the IRA/IIA networks, each with its own schedule.
#
#   python tools/train.py \
#       configs/berl/<this file> \
#       --cfg-options model.pretrained.checkpoint=S2
#
# with S2 the stage-2 checkpoint (the whole model is loaded from it,
# strictly); tools/berl_pipeline.py chains the three stages itself.
# Verification on the synthetic .bin as stage 1 (see its config).
_base_ = [
    './berl-stage2_iresnet18_ira-iia_1xb16-adam-2e_synthetic-faces.py'
]

stage2_checkpoint = ('work_dirs/berl-stage2_iresnet18_ira-iia_1xb16-adam-2e_'
                     'synthetic-faces/epoch_2.pth')
max_epochs = 2
fr_lr = 0.01
recon_lr = 1e-4

model = dict(
    stage=3,
    pretrained=dict(
        _delete_=True, checkpoint=stage2_checkpoint, target='',
        strict=True))

optim_wrapper = dict(
    fr=dict(optimizer=dict(lr=fr_lr)),
    recon=dict(optimizer=dict(lr=recon_lr)))
param_scheduler = dict(
    _delete_=True,
    fr=[dict(type='CosineAnnealingLR', eta_min=fr_lr * 0.01, by_epoch=True,
             begin=0, end=max_epochs, convert_to_iter_based=True)],
    recon=[dict(type='CosineAnnealingLR', eta_min=recon_lr * 0.1,
                by_epoch=True, begin=0, end=max_epochs,
                convert_to_iter_based=True)])

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
