# Facial expression on RAF-DB (7 basic classes, the paper-size setting): a
# linear layer on the layer-normed cls token of a pretrained ViT-S/16 at
# 224 px, fine-tuned with cross-entropy (AdamW lr 5e-4, weight decay 0.05,
# layer-wise lr decay 0.65, 20 epochs); accuracy and mean class accuracy
# (ExpressionAccuracy) on the 3068 test images.
#
# Data: RAF-DB's basic set at data/RAF-DB/basic (EmoLabel/
# list_patition_label.txt, Image/aligned/*_aligned.jpg, 100 x 100 faces
# resized to 224). Pretrained: a ProS ViT-S/16 teacher, e.g.
#   python tools/train.py \
#       configs/downstream/expression_vit-s-p16-linear_1xb64-20e_rafdb.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PATH
# The batch size and the augmentation (resize, flip) are facessl's
# choices, not the paper's.
_base_ = ['./expression_vit-t-p8-linear_1xb32-20e_synthetic-faces.py']

pretrained = ('work_dirs/pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces/'
              'epoch_20.pth')
data_root = 'data/RAF-DB/basic'
img_size = 224

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
