# Face attributes on CelebA (40 binary attributes, official partition): a
# multi-label linear layer on the layer-normed cls token of a pretrained
# ViT-S/16 at 224 px, fine-tuned with BCE (AdamW lr 5e-4, weight decay
# 0.05, layer-wise lr decay 0.65, 20 epochs); mean accuracy over the 40
# attributes (AttributeAccuracy) on the test partition.
#
# Data: data/celeba with list_attr_celeba.txt, list_eval_partition.txt
# and img_align_celeba/ (178 x 218 aligned faces, resized to 224 x 224).
#   python tools/train.py \
#       configs/downstream/attributes_vit-s-p16-linear_1xb64-20e_celeba.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PATH
#
# The optimiser, schedule, batch size and augmentation are facessl's
# choices (configs/pros/README.md lists what the paper states).
_base_ = ['./attributes_vit-t-p8-linear_1xb32-20e_synthetic-faces.py']

pretrained = ('work_dirs/pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces/'
              'epoch_20.pth')
data_root = 'data/celeba'
img_size = 224
num_attributes = 40

model = dict(
    data_preprocessor=dict(num_classes=num_attributes),
    backbone=dict(
        arch='deit-small',
        img_size=img_size,
        patch_size=16,
        init_cfg=dict(checkpoint=pretrained)),
    head=dict(num_classes=num_attributes, in_channels=384))

resize = dict(
    type='Resize', scale=(img_size, img_size), interpolation='bicubic',
    backend='pillow')
train_pipeline = [
    resize,
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [resize, dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    dataset=dict(data_root=data_root, split='val',
                 pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(data_root=data_root, split='test',
                 pipeline=test_pipeline))
train_cfg = dict(val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1))
