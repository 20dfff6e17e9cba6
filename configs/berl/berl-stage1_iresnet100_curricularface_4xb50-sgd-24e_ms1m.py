# 3D-BERL stage 1 at scale: face recognition only, IResNet-100 (the paper's
# ResNet-100) with a CurricularFace head (m = 0.5, s = 64) on MS1MV2
# (insightface's faces_emore pack: train.rec/train.idx, 85,742 identities,
# with the lfw/cfp_fp/agedb_30 .bin verification sets beside it). For
# MS1MV3 (ms1m-retinaface-t1) change data_root and num_identities (93,431);
# for a smaller run, model.backbone.arch='r50' in all three stages.
#
#   CFG=berl-stage1_iresnet100_curricularface_4xb50-sgd-24e_ms1m.py
#   bash tools/dist_train.sh configs/berl/$CFG 4
#
# Optimiser as 3D-BERL: SGD, momentum 0.9, weight decay 5e-4, batch 200
# (4 x 50). The schedule (lr 0.1, divided by 10 at epochs 10, 18 and 22 of
# 24) is CurricularFace's MS1MV2 recipe; 3D-BERL's stage-1 length is not
# given in its paper.
_base_ = [
    './berl-stage1_iresnet18_curricularface_1xb16-3e_synthetic-faces.py'
]

data_root = 'data/faces_emore'
num_identities = 85742
batch_size = 50  # per GPU; 4 GPUs = 200
max_epochs = 24
lr = 0.1

# Partial FC (An et al., ICCVW 2021): the CurricularFace centres are
# sharded over the GPUs; sample_rate 1.0 uses every centre (set 0.1-0.3
# for WebFace-scale identity counts). FaceDistributedDataParallel keeps the
# shards out of DDP's gradient averaging. Stages 2 and 3 keep this head.
sample_rate = 1.0
model = dict(
    data_preprocessor=dict(num_classes=num_identities),
    backbone=dict(arch='r100'),
    head=dict(
        _delete_=True,
        type='PartialFCHead',
        num_classes=num_identities,
        in_channels=512,
        margin=dict(type='curricular', s=64., m=0.5, momentum=0.99),
        sample_rate=sample_rate))
model_wrapper_cfg = dict(type='FaceDistributedDataParallel')

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=8,
    dataset=dict(
        _delete_=True,
        type='FaceRecordIO',
        data_root=data_root,
        rec_file='train.rec',
        pipeline=_base_.train_pipeline))

# lfw / cfp_fp / agedb_30 of the pack, insightface's 10-fold protocol
val_dataloader = dict(
    _delete_=True,
    batch_size=128,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='VerificationBin',
        data_root=data_root,
        bin_files=['lfw.bin', 'cfp_fp.bin', 'agedb_30.bin'],
        image_size=112,
        flip_test=True,
        pipeline=[
            dict(
                type='PackInputs',
                meta_keys=('sample_idx', 'img_index', 'flip', 'set_name',
                           'pair_index', 'issame')),
        ]))
val_evaluator = dict(type='VerificationMetric', far_targets=(1e-3, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=lr))
auto_scale_lr = dict(base_batch_size=200, enable=False)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[10, 18, 22],
         gamma=0.1),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1))

# 4 GPUs: every BatchNorm becomes SyncBatchNorm (statistics of the global
# batch of 200); without CUDA (gloo) each process keeps its own.
sync_bn = 'torch'
