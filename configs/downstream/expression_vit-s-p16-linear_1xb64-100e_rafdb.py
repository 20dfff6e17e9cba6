# Facial expression on RAF-DB (7 basic classes), ProS's recipe: a linear
# layer on the layer-normed cls token of a pretrained ViT-S/16 at 224 px,
# fine-tuned with cross-entropy, AdamW lr 5e-4 with weight decay 0.5 and
# layer-wise lr decay 0.65, 100 epochs (1 warm-up, cosine to 1e-6);
# accuracy and mean class accuracy (ExpressionAccuracy) on the 3068 test
# images.
#
# Data: RAF-DB's basic set at data/RAF-DB/basic (EmoLabel/
# list_patition_label.txt, Image/aligned/*_aligned.jpg, 100 x 100 faces
# resized to 224). Pretrained: a ProS ViT-S/16 teacher, e.g.
#   python tools/train.py \
#       configs/downstream/expression_vit-s-p16-linear_1xb64-100e_rafdb.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PATH
#
# From the paper: weight decay 0.5, 100 epochs on RAF-DB (10 on AffectNet,
# expression_vit-s-p16-linear_1xb64-balanced-10e_affectnet.py). facessl's
# choices where the paper is silent: lr, layer decay, warm-up, batch size,
# augmentation (resize, flip); configs/pros/README.md lists them.
_base_ = ['./expression_vit-t-p8-linear_1xb32-20e_synthetic-faces.py']

pretrained = ('work_dirs/pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces/'
              'epoch_20.pth')
data_root = 'data/RAF-DB/basic'
img_size = 224
max_epochs = 100

model = dict(
    backbone=dict(
        arch='deit-small',
        img_size=img_size,
        patch_size=16,
        init_cfg=dict(checkpoint=pretrained)),
    head=dict(in_channels=384))

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
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(weight_decay=0.5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, eta_min=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=10))
