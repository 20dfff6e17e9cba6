# 3D-BERL attribute transfer on CelebA as the paper's protocol: the
# IResNet-100 of a 3D-BERL stage-3 checkpoint with its fourth stage
# removed, two FC layers (MultiLabelMLPHead) on the flattened stage-3 map,
# the whole network fine-tuned with BCE for the 40 attributes, batch 40,
# 60 epochs; mean accuracy over the 40 on the official test partition.
# Aligned images (img_align_celeba) are warped to the 112 x 112 ArcFace
# template with CelebA's aligned 5 points.
#
#   python tools/train.py \
#       configs/berl/berl-attr_iresnet100-s3_1xb40-2fc-ft-60e_celeba.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=STAGE3.pth
#
# The limited-label regime: add train_dataloader.dataset.fraction=F (e.g.
# 0.01, 0.1; seeded by train_dataloader.dataset.seed). Hidden width,
# optimiser and lr are facessl's choices (the paper gives neither).
_base_ = ['./berl-attr_iresnet18-s3_1xb40-2fc-ft-10e_synthetic-faces.py']

# the stage-3 run of berl-stage3_iresnet100_curricularface-recon_4xb50-...
pretrained = ('work_dirs/berl-stage3_iresnet100_curricularface-recon_'
              '4xb50-sgd-adam-16e_ms1m/epoch_16.pth')
data_root = 'data/celeba'
num_attributes = 40
max_epochs = 60
batch_size = 40

model = dict(
    data_preprocessor=dict(num_classes=num_attributes),
    backbone=dict(arch='r100', init_cfg=dict(checkpoint=pretrained)),
    head=dict(num_classes=num_attributes))

train_dataloader = dict(
    batch_size=batch_size, num_workers=8,
    dataset=dict(dataset=dict(data_root=data_root)))
val_dataloader = dict(
    batch_size=batch_size, num_workers=8,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(checkpoint=dict(interval=5))
