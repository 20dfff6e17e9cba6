# LAFS stage 1 at scale: Part fViT-T (landmark CNN trained end to end) with
# a CosFace head (s = 64, m = 0.4) on MS1MV3 (insightface's
# ms1m-retinaface-t1 pack: train.rec/train.idx, 93,431 identities, and the
# lfw/cfp_fp/agedb_30 .bin verification sets beside them).
#
#   bash tools/dist_train.sh \
#       configs/lafs/part-fvit-t_cosface_4xb128-40e_ms1m.py 4
#
# The schedule (AdamW lr 1e-3 x batch / 512, weight decay 0.05, 5 warm-up
# epochs, cosine, 40 epochs) is facessl's choice for a ViT trained from
# scratch on MS1M, not a value checked against the LAFS/Part fViT papers.
_base_ = ['./part-fvit-t_cosface_1xb16-4e_synthetic-faces.py']

data_root = 'data/ms1m-retinaface-t1'
num_identities = 93431
batch_size = 128
max_epochs = 40
warmup_epochs = 5

# Partial FC (An et al., ICCVW 2021): the CosFace centres are sharded over
# the GPUs (93,431 x 192 / 4 each); sample_rate 1.0 uses every centre, as
# insightface does at MS1MV3 scale. FaceDistributedDataParallel keeps the
# shards out of DDP's gradient averaging.
sample_rate = 1.0
model = dict(
    data_preprocessor=dict(num_classes=num_identities),
    head=dict(
        _delete_=True,
        type='PartialFCHead',
        num_classes=num_identities,
        in_channels=192,
        margin=dict(type='cosface', s=64., m=0.4),
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
# (as configs/_base_/datasets/eval_lfw-cfpfp-agedb.py)
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

optim_wrapper = dict(optimizer=dict(lr=1e-3))
auto_scale_lr = dict(base_batch_size=512, enable=True)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1))
