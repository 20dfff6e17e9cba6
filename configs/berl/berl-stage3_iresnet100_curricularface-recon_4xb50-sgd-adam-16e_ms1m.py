# 3D-BERL stage 3 at scale: joint training of IResNet-100 + CurricularFace
# (m = 0.5, s = 64) and the reconstruction branch, L = L_FR + L_recon
# (gamma_1 = gamma_2 = 1), on MS1MV2, batch 200 (4 x 50): SGD (momentum 0.9,
# weight decay 5e-4) for backbone + margin head, Adam for IRA/IIA, each with
# its own schedule. Loads the whole stage-2 model, strictly:
#
#   bash tools/dist_train.sh \
#       configs/berl/<this file> \
#       4 --cfg-options model.pretrained.checkpoint=S2
#
# lr 0.01 divided by 10 at epochs 8 and 12 of 16 (SGD) and Adam 1e-4 are
# facessl's choices (fine-tuning from stage 1; the paper gives no stage
# lengths).
_base_ = ['./berl-stage2_iresnet100_ira-iia_4xb50-adam-4e_ms1m.py']

stage2_checkpoint = ('work_dirs/berl-stage2_iresnet100_ira-iia_4xb50-adam-'
                     '4e_ms1m/epoch_4.pth')
max_epochs = 16
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
    fr=[dict(type='MultiStepLR', by_epoch=True, milestones=[8, 12],
             gamma=0.1)],
    recon=[dict(type='ConstantLR', factor=1., by_epoch=True, begin=0,
                end=max_epochs)])

train_cfg = dict(max_epochs=max_epochs, val_interval=1)

# 4 GPUs: every BatchNorm becomes SyncBatchNorm (statistics of the global
# batch of 200); without CUDA (gloo) each process keeps its own.
sync_bn = 'torch'
