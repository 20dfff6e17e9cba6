# 3D-BERL attribute transfer on CelebA: the IResNet-50 backbone of a
# 3D-BERL stage-3 checkpoint frozen, two FC layers (MultiLabelMLPHead)
# trained with BCE for the 40 attributes; mean accuracy over the 40 on
# the official test partition. Aligned images (img_align_celeba) are
# warped to the 112 x 112 ArcFace template with CelebA's aligned 5 points.
#
#   python tools/train.py \
#       configs/berl/berl-attr_iresnet50_2fc_1xb256-20e_celeba.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=STAGE3.pth
#
# Hidden width, optimiser and schedule are facessl's choices (the paper
# gives neither); the paper also reports the limited-label regime, which
# needs a subset of the training partition (dataset ``indices``).
_base_ = ['./berl-attr_iresnet18_2fc_1xb32-10e_synthetic-faces.py']

# the stage-3 run of berl-stage3_iresnet50_curricularface-recon_4xb50-...
pretrained = ('work_dirs/berl-stage3_iresnet50_curricularface-recon_'
              '4xb50-sgd-adam-16e_ms1m/epoch_16.pth')
data_root = 'data/celeba'
num_attributes = 40
max_epochs = 20
batch_size = 256

model = dict(
    data_preprocessor=dict(num_classes=num_attributes),
    backbone=dict(arch='r50', init_cfg=dict(checkpoint=pretrained)),
    head=dict(num_classes=num_attributes))

train_dataloader = dict(
    batch_size=batch_size, num_workers=8,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=batch_size, num_workers=8,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1))
